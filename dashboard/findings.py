"""FINDINGS.md, produced by code: the source article's milestones run through the Impact analyses.

    python -m dashboard.findings [--write notebooks/FINDINGS.md]

Every number is formatted from an analysis result; ``render()`` is deterministic (no clock), and
tests/test_findings.py checks that the committed notebooks/FINDINGS.md equals it byte for byte.
"""

from __future__ import annotations

import argparse
import sys
from collections import namedtuple
from pathlib import Path

import pandas as pd

from dashboard import impact, store
from dashboard.analysis import detect_changepoints
from dashboard.analysis.guards import milestone_cut, month_number

WINDOW = 12  # months on each side, as on the Impact page
PELT_MIN = {"monthly": 6, "annual": 3}  # smallest change-point segment, in points
SECTIONS = [  # milestone id, series keys, geography, what the section cannot rule out
    ("cienfuegos-arrest", ("sesnsp", "inegi"), "MX",
     "COVID-19 lockdowns and their aftermath moved violence and its recording in 2020-2021, and homicides were "
     "already drifting down from their 2019 peak; SESNSP counts prosecutors' case files (states change how they "
     "classify cases) while INEGI counts death certificates, so the two can disagree."),
    ("foreign-agents-law", ("sesnsp", "inegi"), "MX",
     "Any effect of restricting foreign agents on homicides would be indirect and slow. The same COVID-19 period, "
     "pre-existing downward drift and SESNSP/INEGI recording differences apply."),
    ("security-dialogue", ("fentanyl_lbs",), "CBP-SWB",
     "Seizures measure enforcement effort and trafficking volume at once. The 2019-2023 supply shift to Mexican-made "
     "fentanyl (pressed pills, powder) was already raising seizures, and CBP's reporting changed over the period."),
    ("dea-fentanyl-surge", ("od_synthetic",), "US",
     "Deaths follow the drug supply, treatment, naloxone and the COVID-19 disruption far more than one announcement; "
     "the 2019-2023 fentanyl supply shift drives the whole series, and provisional counts are still revised."),
]
XCORR = ("fentanyl_lbs", "CBP-SWB", "od_synthetic", "US")
Analysis = namedtuple("Analysis", "label windows its placebo nearest n_breaks caveats")


def analyse(key: str, geo: str, milestone_id: str, when: pd.Timestamp) -> Analysis:
    """The Impact page's analyses (impact.run, same settings) plus PELT change points."""
    r = impact.run(key, geo, milestone_id, window=WINDOW)
    s, freq = r.prepared.series, r.prepared.frequency
    cps = detect_changepoints(s, frequency=freq, min_size=PELT_MIN[freq], milestones={milestone_id: when})
    near = min(cps.breaks, key=lambda b: abs(b.months_to_milestone), default=None)
    notes = [*r.prepared.warnings, *r.windows.warnings, *r.its.warnings, *r.placebo.warnings, *cps.warnings]
    label = f"{impact.SERIES[key][1]}, {store.geo_name(geo)}"
    return Analysis(label, r.windows, r.its, r.placebo, near, len(cps.breaks), list(dict.fromkeys(notes)))


def num(v: float, digits: int = 1) -> str:
    return f"{v:,.{digits}f}"


def pct(v: float | None) -> str:
    return "n/a" if v is None else f"{v:+.1f}%"


def period(start: pd.Timestamp, end_exclusive: pd.Timestamp, annual: bool) -> str:
    last = end_exclusive - pd.DateOffset(months=12 if annual else 1)
    return str(start.year) if annual else f"{start:%Y-%m} to {last:%Y-%m}"


def effect(e, digits: int = 1) -> str:
    return f"{num(e.estimate, digits)} (95% CI {num(e.ci_low, digits)} to {num(e.ci_high, digits)}; p = {e.p_value:.3f})"


def break_text(a: Analysis) -> str:
    if a.nearest is None:
        return "none found"
    b = a.nearest  # a break is dated on the first period of the new segment
    when = f"calendar year {b.date.year}" if a.its.frequency == "annual" else f"{b.date:%Y-%m}"
    return f"{when} ({b.months_to_milestone:+d} months; {a.n_breaks} break(s) in the series)"


def table(a: Analysis) -> list[str]:
    w, its, p, annual = a.windows, a.its, a.placebo, a.its.frequency == "annual"
    rows = [
        ("Mean before", f"{num(w.mean_before)} ({period(w.before_start, w.before_end, annual)}, {w.n_before} points)"),
        ("Mean after", f"{num(w.mean_after)} ({period(w.after_start, w.after_end, annual)}, {w.n_after} points)"),
        ("Change in mean", f"{num(w.difference)} ({pct(w.pct_change)})"),
        ("ITS level change", effect(its.level_change)),
        (f"ITS slope change ({its.slope_unit})", effect(its.slope_change, 2)),
        ("Placebo rank", f"{p.rank_fraction:.0%} of {p.n_placebos} other dates as large (placebo p = {p.p_value:.3f})"),
        ("Nearest PELT change point", break_text(a)),
    ]
    return ["| Measure | Result |", "|---|---|", *(f"| {m} | {r} |" for m, r in rows)]


def reading(a: Analysis) -> str:
    lc, p, its = a.its.level_change, a.placebo, a.its
    verdict = ("untestable here: the placebo test has too few dates" if p.n_placebos < 19 else  # p >= 0.05 always
               "unusual among placebo dates" if p.p_value <= 0.05 else "ordinary among placebo dates")
    text = (f"The level-change interval {'excludes' if lc.ci_low > 0 or lc.ci_high < 0 else 'includes'} zero; a "
            f"change this size is {verdict} ({p.n_placebos} dates, placebo p = {p.p_value:.3f}). ")
    if its.level_change_pct is not None:
        text += f"The level change is {pct(its.level_change_pct)} of the pre-trend counterfactual. "
    if its.frequency == "annual":
        text += (f"Only {its.n_pre + its.n_post} calendar-year totals enter the regression ({its.n_pre} before, "
                 f"{its.n_post} after), so every estimate here is fragile. ")
    d = None if a.nearest is None else a.nearest.months_to_milestone
    side = "" if d is None else f"{abs(d)} months {'after' if d >= 0 else 'before'} the milestone"
    return text + ("PELT found no change point here." if d is None else f"The data's own nearest change point is {side}.")


def overlap_note(ms: pd.DataFrame) -> str:
    first, second = (ms.loc[m, "date"] for m in ("cienfuegos-arrest", "foreign-agents-law"))
    apart = month_number(milestone_cut(second, 1)[1]) - month_number(milestone_cut(first, 1)[1])
    return (f"**Overlap.** The Cienfuegos arrest and the foreign-agents law are {apart} months apart, so their "
            f"{WINDOW}-month windows share {max(0, WINDOW - apart)} of {WINDOW} months on each side (the arrest's "
            "after-window contains the law, the law's before-window contains the arrest): sections 1 and 2 analyse "
            "largely the same data and cannot tell the two events apart.")


def section(i: int, ms: pd.DataFrame, mid: str, analyses: list[Analysis], confounders: str) -> list[str]:
    when = ms.loc[mid, "date"]
    out = [f"## {i}. {ms.loc[mid, 'title_en']} ({when:%Y-%m-%d})", "", ms.loc[mid, "description_en"], ""]
    for a in analyses:
        out += [f"### {a.label}", "", *table(a), "", reading(a), "", "Caveats raised by the analysis:", ""]
        out += [*(f"- {c}" for c in a.caveats), ""]
    out += [f"**What this does and does not show.** The numbers describe how the series moved around "
            f"{when:%Y-%m-%d}; they do not show that the milestone caused any of it. {confounders} "
            "Autocorrelated residuals make HAC p-values optimistic; the placebo rank is the sturdier check.", ""]
    return out + ([overlap_note(ms), ""] if mid in ("cienfuegos-arrest", "foreign-agents-law") else [])


def header(ms: pd.DataFrame, runs: list) -> list[str]:
    cat = store.catalog()["sources"]
    used = sorted({impact.SERIES[k][0].split(".")[0] for _, keys, _, _ in SECTIONS + [((), XCORR[::2], 0, 0)]
                   for k in keys})
    versions = [f"| {s} | {cat[s]['snapshot']} | {cat[s]['snapshot_fingerprint']} | {cat[s]['date_min']} to "
                f"{cat[s]['date_max']} |" for s in used]
    heads = [f"| {ms.loc[mid, 'date']:%Y-%m-%d} {mid} | {a.label} | {pct(a.windows.pct_change)} | "
             f"{num(a.its.level_change.estimate)} (p = {a.its.level_change.p_value:.3f}) | "
             f"{a.placebo.rank_fraction:.0%} of {a.placebo.n_placebos} | {break_text(a)} |"
             for mid, analyses, _ in runs for a in analyses]
    return ["# Findings: did anything change after the article's milestones?", "",
            "Generated by `python -m dashboard.findings --write notebooks/FINDINGS.md`; do not edit by hand. "
            "tests/test_findings.py fails when this file no longer matches the data and code.", "",
            "## Data versions", "", "| Source | Snapshot | Fingerprint | Period |", "|---|---|---|---|", *versions, "",
            "## Headline numbers", "", "| Milestone | Series | Change in 12-month mean | ITS level change (p) | "
            "Placebo rank | Nearest change point |", "|---|---|---|---|---|---|", *heads, ""]


def method() -> list[str]:
    return ["## Method", "",
            f"- **Windows**: mean of the {WINDOW} months before the milestone vs the {WINDOW} months after; the month "
            "(or year) containing the milestone is partly treated and left out of every analysis.",
            "- **Interrupted time series (ITS)**: segmented regression (level and slope change at the first period "
            "after the milestone), month-of-year dummies (seasonality) when there are at least 24 monthly points, "
            "Newey-West (HAC) standard errors, t-based 95% intervals.",
            f"- **Placebo**: the same regression at every other date with {impact.PLACEBO_MIN_SIDE['monthly']} monthly "
            f"({impact.PLACEBO_MIN_SIDE['annual']} annual) points on each side, excluding 12 months around the milestone; the "
            "rank is the share of placebo dates whose |level change| is at least as large.",
            f"- **Change points**: PELT (l2 cost, penalty 3·σ²·log n, segments of at least {PELT_MIN['monthly']} "
            f"months or {PELT_MIN['annual']} years) on the whole series, blind to the milestone; the nearest is shown.",
            "- **CDC guard**: CDC's provisional counts are overlapping 12-month-ending sums; they are reduced to "
            "calendar-year totals (December values), so those analyses have few points and one-year windows.", ""]


def xcorr_section() -> list[str]:
    fig, warnings, read = impact.xcorr(*XCORR)
    lags, (x, y) = fig["data"][0]["x"], (impact.SERIES[k][1] for k in XCORR[::2])
    return [f"## Lagged cross-correlation: {x} vs {y}", "",
            f"x is {x}; y is {y}, taken as the year-over-year % change of its 12-month-ending sums; both are "
            f"first-differenced; lags run from {lags.min():+d} to {lags.max():+d} months. {read}", "",
            *(f"- {w}" for w in warnings), "",
            "Seizures and deaths both rose through the fentanyl supply shift; trending series correlate at many lags "
            "even when unrelated (spurious correlation), so a peak describes timing, not that one drives the other.", ""]


def render() -> str:
    ms = store.milestones().set_index("id")
    runs = [(mid, [analyse(k, geo, mid, ms.loc[mid, "date"]) for k in keys], text) for mid, keys, geo, text in SECTIONS]
    lines = header(ms, runs) + method()
    for i, run in enumerate(runs, start=1):
        lines += section(i, ms, *run)
    return "\n".join(lines + xcorr_section()).rstrip("\n") + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--write", metavar="PATH", help="write the Markdown to PATH instead of printing it")
    text = render()
    if path := parser.parse_args(argv).write:
        Path(path).write_text(text, encoding="utf-8", newline="\n")
    else:
        sys.stdout.write(text)


if __name__ == "__main__":
    main()
