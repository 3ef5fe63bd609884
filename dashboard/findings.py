"""FINDINGS.md, produced by code: the source article's milestones run through the Impact analyses.

    python -m dashboard.findings [--write notebooks/FINDINGS.md]

Every number is formatted from an analysis result, and every verdict and caveat is the Impact
page's own wording (the English catalog); ``render()`` is deterministic (no clock, seeded
calibration), and tests/test_findings.py checks that the committed notebooks/FINDINGS.md equals
it byte for byte.
"""

from __future__ import annotations

import argparse
import sys
import tomllib
from collections import namedtuple
from pathlib import Path

import pandas as pd

from dashboard import impact, store
from dashboard.analysis import detect_changepoints
from dashboard.analysis.changepoints import MAX_DISTANCE_MONTHS
from dashboard.i18n import signed_percent
from dashboard.analysis.guards import milestone_cut, month_number
from dashboard.i18n import t

LANG = "en"
WINDOW = 12  # months on each side, the Impact page's default
WINDOW_FOR = {"annual": 36}  # calendar-year totals need three years a side: the page's longest window
PELT_MIN = {"monthly": 6, "half_yearly": 3, "annual": 3}  # smallest change-point segment, in points
# Sections (milestone, series, geography, what the section cannot rule out) and the
# cross-correlation pair are metadata: dashboard/findings.toml.
_SPEC = tomllib.loads((Path(__file__).with_name("findings.toml")).read_text(encoding="utf-8"))
SECTIONS = [(x["milestone"], tuple(x["series"]), x["geo"], x["cannot_rule_out"]) for x in _SPEC["sections"]]
XCORR = (_SPEC["xcorr"]["x"], _SPEC["xcorr"]["x_geo"], _SPEC["xcorr"]["y"], _SPEC["xcorr"]["y_geo"])
Analysis = namedtuple("Analysis", "label result nearest n_breaks")


def window_for(series_id: str) -> int:
    freq = impact.series_choices()[series_id].frequency
    annual = freq == "annual" or freq in impact.OVERLAPPING
    return WINDOW_FOR["annual"] if annual else WINDOW


def analyse(series_id: str, geo: str, milestone_id: str, when: pd.Timestamp) -> Analysis:
    """The Impact page's analyses (impact.run, same settings) plus PELT change points."""
    r = impact.run(series_id, geo, milestone_id, window=window_for(series_id))
    s, freq = r.prepared.series, r.prepared.frequency
    cps = detect_changepoints(s, frequency=freq, min_size=PELT_MIN[freq], milestones={milestone_id: when})
    near = [b for b in cps.breaks if b.nearest_milestone_id]
    label = f"{impact.series_label(series_id, LANG)}, {impact.geo_label(geo, LANG)}"
    return Analysis(label, r, min(near, key=lambda b: abs(b.months_to_milestone), default=None), len(cps.breaks))


def break_text(a: Analysis) -> str:
    if a.nearest is None:
        return f"none within {MAX_DISTANCE_MONTHS} months ({a.n_breaks} break(s) in the series)"
    b = a.nearest
    words = t(f"analysis.changepoint.{b.code}", LANG, date=impact.period_label(b.date, a.result.its.frequency, LANG),
              milestone=impact.milestone_title(b.nearest_milestone_id, LANG), months=str(abs(b.months_to_milestone)),
              max=str(MAX_DISTANCE_MONTHS))
    return f"{words} ({a.n_breaks} break(s) in the series)"


def table(a: Analysis) -> list[str]:
    rows = impact.results_table(a.result, LANG)
    out = ["| Measure | Estimate | 95% interval | p |", "|---|---|---|---|"]
    out += [f"| {r.measure} | {r.estimate} | {r.interval} | {r.p} |" for r in rows.itertuples()]
    return out + [f"| Nearest PELT change point | {break_text(a)} | | |"]


def overlap_note(ms: pd.DataFrame) -> str:
    first, second = (ms.loc[m, "date"] for m in ("cienfuegos-arrest", "foreign-agents-law"))
    apart = month_number(milestone_cut(second, 1)[1]) - month_number(milestone_cut(first, 1)[1])
    return (f"**Overlap.** The Cienfuegos arrest and the foreign-agents law are {apart} months apart, so their "
            f"{WINDOW}-month windows share {max(0, WINDOW - apart)} of {WINDOW} months on each side (the arrest's "
            "after-window contains the law, the law's before-window contains the arrest): sections 1 and 2 analyse "
            "largely the same data and cannot tell the two events apart; each verdict names the other.")


def section(i: int, ms: pd.DataFrame, mid: str, analyses: list[Analysis], confounders: str) -> list[str]:
    when = ms.loc[mid, "date"]
    out = [f"## {i}. {ms.loc[mid, 'title_en']} ({when:%Y-%m-%d})", "", ms.loc[mid, "description_en"], ""]
    for a in analyses:
        r = a.result
        out += [f"### {a.label}", "", f"**Verdict.** {impact.verdict_text(r, LANG)}", "",
                f"Windows of {r.window} months each side ({impact.span_label(r.its.windows.pre_start, r.its.windows.pre_end, r.its.frequency, LANG)} "
                f"vs {impact.span_label(r.its.windows.post_start, r.its.windows.post_end, r.its.frequency, LANG)}); "
                f"verdict code `{r.verdict.code}`.", "", *table(a), "", "Caveats raised by the analysis:", ""]
        out += [*(f"- {c}" for c in impact.caveats(r, LANG)), ""]
    out += [f"**What this does and does not show.** The numbers describe how the series moved around "
            f"{when:%Y-%m-%d}; they do not show that the milestone caused any of it. {confounders} "
            "Autocorrelated residuals make the model's intervals optimistic; the placebo rank is the sturdier check, "
            "and the verdict needs both.", ""]
    return out + ([overlap_note(ms), ""] if mid in ("cienfuegos-arrest", "foreign-agents-law") else [])


def _rate(row) -> str:
    if row is None:
        return "—"
    return (f"{row['rate']:.1%} ({row['claims']} of {row['n']}; 95% CI {row['ci_low']:.1%} to {row['ci_high']:.1%})")


def calibration_table(result) -> list[str]:
    """The calibration summary as a Markdown table (also printed by benchmarks/verdict_calibration.py):
    one row per scenario, one column per group (all national series, each source, the states)."""
    s = result.summary
    sources = sorted(g.split(":", 1)[1] for g in s["group"].unique() if g.startswith("national:"))
    groups = [("national", "All national and regional monthly series")]
    groups += [(f"national:{src}", f"of which {src}") for src in sources]
    groups += [("states", "Mexican states, with synthetic control")]
    lines = ["| Scenario | " + " | ".join(g[1] for g in groups) + " |", "|---|" + "---|" * len(groups)]
    for shift in sorted(s["shift"].unique()):
        name = "Ordinary dates: claims a change (false alarm)" if shift == 0 else f"+{shift:.0%} shift inserted: finds it"
        cells = []
        for g, _ in groups:
            hit = s[(s["group"] == g) & (s["shift"] == shift)]
            cells.append(_rate(None if hit.empty else hit.iloc[0]))
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    errors = int(s.loc[~s["group"].str.contains(":"), "errors"].sum())
    series = result.draws.loc[result.draws["group"] == "national", "series"].nunique()
    states = result.draws.loc[result.draws["group"] == "states", "geo"].nunique()
    lines += ["", f"{len(result.draws[result.draws['shift'] == 0])} ordinary dates drawn (seeded) over {series} monthly "
              f"series and {states} states; draws the model refused (a window of zeros, or of mostly zeros): {errors}."]
    return lines


def calibration_section() -> list[str]:
    result = impact.calibration()
    conf = impact.defaults()["calibration"]
    return ["## Calibration of the verdict on real data", "",
            f"The verdict rule run at {conf['national_draws']} randomly drawn ordinary dates (no registered milestone "
            f"inside their windows) of the real monthly series at their default geography, and at {conf['state_draws']} "
            "dates of the Mexican states' SESNSP homicides (with the synthetic control); then the same dates with a "
            "lasting level shift of +10%, +20% or +40% inserted into the real series. Windows of 12 months, no gap. "
            "`python benchmarks/verdict_calibration.py` prints the same table.", "",
            *calibration_table(result), "", calibration_reading(result.summary), ""]


def calibration_reading(s: pd.DataFrame) -> str:
    """What the table says, from its own numbers."""
    row = s.set_index(["group", "shift"])
    nat0, st0 = row.loc[("national", 0.0), "rate"], row.loc[("states", 0.0), "rate"]
    nat20, nat40, st40 = (row.loc[k, "rate"] for k in (("national", 0.2), ("national", 0.4), ("states", 0.4)))
    worst = s[s["group"].str.startswith("national:") & (s["shift"] == 0) & (s["n"] >= 20)].sort_values("rate").iloc[-1]
    return (f"At ordinary dates the rule claims a change {nat0:.1%} of the time on the national series and {st0:.1%} on "
            f"the states (target: at most 10%); the worst source with 20 or more draws, {worst['group'].split(':')[1]}, "
            f"is at {worst['rate']:.1%}. The price is power: the rule needs the model and the placebo dates to agree, "
            f"and a 12-month window is short, so it finds a +20% shift {nat20:.0%} of the time and a +40% shift "
            f"{nat40:.0%} of the time on national series, and almost never ({st40:.0%} at +40%) in a single state, "
            "whose homicides swing that much at ordinary dates. A \"no evidence\" verdict is therefore weak evidence "
            "of no effect, not proof of none.")


def header(ms: pd.DataFrame, runs: list) -> list[str]:
    cat = store.catalog()["sources"]
    ids = {s for _, keys, _, _ in SECTIONS for s in keys} | {XCORR[0], XCORR[2]}
    used = sorted({impact.series_choices()[s].source_id for s in ids})
    versions = [f"| {s} | {cat[s]['snapshot']} | {cat[s]['snapshot_fingerprint']} | {cat[s]['date_min']} to "
                f"{cat[s]['date_max']} |" for s in used]
    heads = []
    for mid, analyses, _ in runs:
        for a in analyses:
            c, p = a.result.its.change, a.result.placebo
            rank = f"rank {p.rank} of {p.n_placebos + 1}" if p.n_placebos else "no placebo date fits"
            heads.append(f"| {ms.loc[mid, 'date']:%Y-%m-%d} {mid} | {a.label} | `{a.result.verdict.code}` | "
                         f"{signed_percent(c.pct, LANG)} ({signed_percent(c.pct_low, LANG)} to "
                         f"{signed_percent(c.pct_high, LANG)}) | {rank} | {break_text(a)} |")
    return ["# Findings: did anything change after the article's milestones?", "",
            "Generated by `python -m dashboard.findings --write notebooks/FINDINGS.md`; do not edit by hand. "
            "tests/test_findings.py fails when this file no longer matches the data and code.", "",
            "## Data versions", "", "| Source | Snapshot | Fingerprint | Period |", "|---|---|---|---|", *versions, "",
            "## Headline numbers", "", "| Milestone | Series | Verdict | Step (95% CI) | Placebo dates | "
            "Nearest change point |", "|---|---|---|---|---|---|", *heads, ""]


def method() -> list[str]:
    return ["## Method", "",
            f"- **Windows**: only the {WINDOW} months before the milestone and the {WINDOW} months after it (36 for "
            "series reduced to calendar-year totals) enter any fit; the month (or year) containing the milestone is "
            "partly treated and left out, and so is the washout gap when one is chosen.",
            "- **Model**: a Poisson pseudo-likelihood GLM (log link) of the counts on the two windows: a common trend, "
            "seasonal terms (month dummies from 24 months a side, one sine-cosine pair from 12, none below) and a step "
            "at the milestone. The step is reported as a percentage of the counterfactual (the same model without the "
            "step, drawn over the after window only with its 95% band) and as a count per period; Newey-West (HAC) "
            "errors, t-based 95% intervals. A second model lets the trend bend; it is shown, not used in the verdict.",
            "- **Placebo dates**: the same model, window and gap at every period start whose windows are complete and "
            "do not contain the milestone; the rank is the milestone's place by |step| among them, p = (1 + dates as "
            "large) / (1 + dates).",
            "- **Synthetic control** (state-level series): the state, indexed to its before-window mean, against a "
            "convex combination of the other states fitted on the before window (pysyncon; the donors' placebo fits "
            "and the calibration use an equivalent non-negative least-squares solve, tested to give the same "
            "weights); in-space placebo: every donor treated in turn, ranked by post/pre RMSPE ratio (Abadie, "
            "Diamond & Hainmueller 2010). National series have no donor pool.",
            "- **Verdict**: a change only when the model's interval excludes zero and every testable placebo has "
            "p <= 0.05; no evidence when no placebo does; unclear otherwise; cannot tell when no placebo test can "
            "reach 0.05 (dashboard/analysis/verdict.py).",
            f"- **Change points**: PELT (l2 cost, penalty 3·σ²·log n, segments of at least {PELT_MIN['monthly']} "
            f"months or {PELT_MIN['annual']} years) on the whole series, blind to the milestone; a break is tied to "
            f"the milestone only within {MAX_DISTANCE_MONTHS} months.",
            "- **CDC guard**: CDC's provisional counts are overlapping 12-month-ending sums; they are reduced to "
            "calendar-year totals (December values), so those analyses have few points.", ""]


def xcorr_section() -> list[str]:
    fig, warnings, read = impact.xcorr(*XCORR, LANG)
    lags = fig["data"][0]["x"]
    x, y = impact.series_label(XCORR[0], LANG), impact.series_label(XCORR[2], LANG)
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
    lines += calibration_section()
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
