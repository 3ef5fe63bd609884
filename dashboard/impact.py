"""The Impact page's work, pure: which series it offers (from metadata), the "did it change?"
analyses for one selection, and their figures and tables in the reader's language.

Nothing here names a source or a series: the choices come from ``store.series_meta()`` (and the
registry's panels, for each series' geography kind), the defaults, aliases of older links and
the donor-pool rule from ``impact_defaults.toml``. Every word a reader sees comes from the
catalogs (``impact.po`` for the page, ``analysis.po`` for the analyses' caveats).
"""

from __future__ import annotations

import logging
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from dashboard import i18n, store
from dashboard.analysis import (
    AnalysisError, ITSResult, Note, PlaceboResult, PreparedSeries, SynthResult, Verdict, WindowComparison,
    before_after, decide, fit_its, lagged_xcorr, placebo_test, prepare, synthetic_control,
)
from dashboard.analysis.guards import OVERLAPPING, PERIOD_MONTHS
from dashboard.analysis.verdict import ALPHA, overlapping
from dashboard.figures import FONT, HIGHLIGHT_COLOR, PALETTE, SEPARATORS, SOURCE_WRAP, title_fit, wrap
from dashboard.i18n import day, month, number, percent, shared_digits, signed_number, signed_percent, t
from etl import vocabulary
from etl.reference import geo_table

log = logging.getLogger(__name__)

DEFAULTS_PATH = Path(__file__).with_name("impact_defaults.toml")
CF_BAND = "rgba(44,160,44,0.15)"
OVERLAP_COLOR = "#888"
PAGE_NOTES = {"window_rounded"}
OVERLAPS_NAMED = 3  # the verdict names the nearest overlapping milestones, then counts the rest  # caveats the page itself raises (catalog: impact.note.<code>)


# ---------------------------------------------------------------- metadata


@lru_cache(maxsize=1)
def defaults() -> dict:
    with DEFAULTS_PATH.open("rb") as fh:
        return tomllib.load(fh)


@dataclass(frozen=True)
class SeriesChoice:
    id: str
    source_id: str
    title: str
    title_es: str
    unit: str
    frequency: str


def _analysable(meta: dict) -> bool:
    freq = meta["frequency"]
    return (freq in PERIOD_MONTHS or freq in OVERLAPPING) and meta["unit"] not in defaults()["exclude"]["units"]


def series_choices() -> dict[str, SeriesChoice]:
    """Every series the page can analyse, in metadata order."""
    out = {}
    for sid, m in store.series_meta().items():
        if _analysable(m):
            out[sid] = SeriesChoice(sid, m["source_id"], m["title"], m.get("title_es") or m["title"], m["unit"],
                                    m["frequency"])
    return out


def series_label(series_id: str, lang: str) -> str:
    c = series_choices()[series_id]
    return c.title_es if lang == "es" else c.title


def resolve_series(value: str) -> str | None:
    """A series id, or the short name an older link used; None when neither."""
    choices = series_choices()
    value = defaults()["aliases"].get(value, value)
    return value if value in choices else None


@lru_cache(maxsize=1)
def _geo_rows() -> pd.DataFrame:
    return geo_table().set_index("geo")


def geo_label(code: str, lang: str) -> str:
    rows = _geo_rows()
    if code not in rows.index:
        return code
    row = rows.loc[code]
    return (row.get("name_es") or row["name"]) if lang == "es" else row["name"]


def _registry_kind(series_id: str) -> str | None:
    try:
        from dashboard import registry

        spec = registry.series_specs().get(series_id)
        return registry.panel(spec.panel).geo_kind if spec else None
    except (ImportError, ValueError, KeyError, StopIteration):  # registry absent or mid-edit: infer below
        return None


@lru_cache(maxsize=64)
def _geos_in_data(series_id: str, token: int) -> tuple[str, ...]:
    frame = store.series_all(series_id)
    return tuple(frame["geo"].dropna().unique())


def geos_in_data(series_id: str) -> tuple[str, ...]:
    return _geos_in_data(series_id, store.catalog_token())


def geo_kind(series_id: str) -> str:
    """The series' geography kind: its registry panel's, else inferred from its geographies."""
    kind = _registry_kind(series_id)
    if kind:
        return kind
    present = set(geos_in_data(series_id))
    rows = _geo_rows().reindex(sorted(present))
    if rows["kind"].isin(["cbp_region", "cbp_aor"]).any():
        return "cbp"
    countries = set(rows["country"].dropna())
    return "mx" if countries == {"MX"} else "us" if countries == {"US"} else "country"


def geo_options(series_id: str, lang: str) -> list[tuple[str, str]]:
    """(code, label) of the geographies the series has, national first."""
    present = set(geos_in_data(series_id))
    kind = geo_kind(series_id)
    listed = store.geo_codes().get(kind, ())
    codes = [c for c in listed if c in present] + sorted(present - set(listed))
    nationwide = kind == "cbp"
    return [(c, t("impact.geo.nationwide", lang) if nationwide and c == "US" else geo_label(c, lang)) for c in codes]


def default_geo(series_id: str) -> str:
    options = [c for c, _ in geo_options(series_id, "en")]
    preferred = defaults()["default_geo"].get(geo_kind(series_id))
    return preferred if preferred in options else options[0]


def donor_pool(series_id: str, geo: str) -> list[str]:
    """The other units of the treated unit's kind and country that the series covers (empty for
    national series and kinds without a comparable pool)."""
    rows = _geo_rows()
    if geo not in rows.index or rows.loc[geo, "kind"] not in defaults()["synthetic_control"]["donor_kinds"]:
        return []
    kind, country = rows.loc[geo, "kind"], rows.loc[geo, "country"]
    present = set(geos_in_data(series_id))
    same = rows[(rows["kind"] == kind) & (rows["country"] == country)].index
    return sorted(g for g in same if g in present and g != geo)


def load_series(series_id: str, geo: str) -> tuple[pd.Series, str]:
    rows = store.series(series_id, geo)
    return rows.set_index("date")["value"].dropna().astype(float), series_choices()[series_id].frequency


def _convert(frequency: str) -> str | None:
    # CDC's 12-month-ending sums overlap: analyse the non-overlapping calendar-year totals.
    return "yoy" if frequency in OVERLAPPING else None


def _panel(series_id: str, geos: list[str], frequency: str) -> pd.DataFrame:
    frame = store.series_all(series_id)
    frame = frame[frame["geo"].isin(geos)].dropna(subset=["value"])
    cols = {}
    for g, part in frame.groupby("geo"):
        cols[g] = prepare(part.set_index("date")["value"].astype(float), frequency, _convert(frequency)).series
    return pd.DataFrame(cols)


# ---------------------------------------------------------------- analyses


@dataclass
class ImpactResult:
    series_id: str
    geo: str
    milestone_id: str
    window: int
    gap: int
    prepared: PreparedSeries
    windows: WindowComparison
    its: ITSResult
    placebo: PlaceboResult
    synth: SynthResult | None
    synth_status: Note  # ("used", {...}) | ("national", {}) | ("failed", {"code": ...})
    verdict: Verdict
    notes: list[Note] = field(default_factory=list)

    @property
    def conversion(self) -> str | None:
        return self.prepared.conversion


def run(series_id: str, geo: str, milestone_id: str, window: int = 12, gap: int = 0) -> ImpactResult:
    """Windows, the count model, placebo dates, the synthetic control (states) and the verdict."""
    return _run(series_id, geo, milestone_id, int(window), int(gap), store.catalog_token(), store.milestones_token())


@lru_cache(maxsize=32)
def _run(series_id: str, geo: str, milestone_id: str, window: int, gap: int, _data: int, _ms: int) -> ImpactResult:
    ms = store.milestones()
    match = ms.loc[ms["id"] == milestone_id, "date"]
    if match.empty:  # a clear error the page can word, not an IndexError (a 500) on a forged id
        raise ValueError(f"unknown milestone {str(milestone_id)[:40]!r} (data/milestones/milestones.csv)")
    when = pd.Timestamp(match.iloc[0])
    y, frequency = load_series(series_id, geo)
    if y.empty:
        raise AnalysisError("no_data", f"{series_id} has no data for {geo}")
    prepared = prepare(y, frequency, _convert(frequency))
    freq, period = prepared.frequency, prepared.period_months
    # Longer-period data needs whole periods: a 6-month window on annual data is one year.
    span = max(period, window // period * period)
    wash = gap // period * period
    windows = before_after(prepared.series, when, frequency=freq, window_months=span, gap_months=wash)
    its = fit_its(prepared.series, when, frequency=freq, window_months=span, gap_months=wash)
    placebo = placebo_test(prepared.series, when, frequency=freq, window_months=span, gap_months=wash)
    synth, status = None, ("national", {})
    donors = donor_pool(series_id, geo)
    if donors:
        try:
            synth = synthetic_control(_panel(series_id, [geo, *donors], frequency), geo, when, frequency=freq,
                                      window_months=span, gap_months=wash)
            status = ("used", {"n": len(synth.donors)})
        except AnalysisError as exc:
            status = ("failed", {"code": exc.code, **exc.params})
    overlaps = overlapping(ms[["id", "date"]], its, milestone_id)
    verdict = decide(its, placebo, synth, overlaps)
    notes = []
    if span != window or wash != gap:
        notes.append(("window_rounded", {"window": span, "gap": wash, "period": period}))
    for n in (*prepared.warnings, *windows.warnings, *its.warnings, *placebo.warnings,
              *(synth.warnings if synth else ())):
        if n not in notes:
            notes.append(n)
    return ImpactResult(series_id, geo, milestone_id, span, wash, prepared, windows, its, placebo, synth, status,
                        verdict, notes)


def calibration(national_draws: int | None = None, state_draws: int | None = None):
    """The verdict rule's calibration on the real series (see ``analysis.calibration``)."""
    conf = defaults()["calibration"]
    n_nat = conf["national_draws"] if national_draws is None else national_draws
    n_st = conf["state_draws"] if state_draws is None else state_draws
    return _calibration(n_nat, n_st, int(conf["seed"]), store.catalog_token(), store.milestones_token())


@lru_cache(maxsize=2)
def _calibration(n_nat: int, n_st: int, seed: int, _data: int, _ms: int):
    from dashboard.analysis import calibration as cal

    page = defaults()["page"]
    dates = store.milestones()["date"]
    monthly = {}
    for sid, c in series_choices().items():
        if c.frequency == "monthly":
            y, _ = load_series(sid, default_geo(sid))
            if len(y) >= 4 * page["window"]:
                monthly[sid] = y
    state_id = defaults()["calibration"]["state_series"]
    frame = store.series_all(state_id)
    rows = _geo_rows()
    states = [g for g in frame["geo"].unique() if g in rows.index and rows.loc[g, "kind"] in
              defaults()["synthetic_control"]["donor_kinds"]]
    panel = frame[frame["geo"].isin(states)].pivot(index="date", columns="geo", values="value").sort_index()
    draws = pd.concat([
        cal.national(monthly, dates, n=n_nat, window=int(page["window"]), gap=int(page["gap"]), seed=seed)
        .assign(group="national", source=lambda d: d["series"].map(lambda s: series_choices()[s].source_id)),
        cal.states(panel, dates, n=n_st, window=int(page["window"]), gap=int(page["gap"]), seed=seed + 1)
        .assign(group="states", source=series_choices()[state_id].source_id),
    ], ignore_index=True)
    return cal.Calibration(draws, cal.summarise(draws))


# ---------------------------------------------------------------- words


def unit_label(series_id: str, lang: str) -> str:
    term = vocabulary.units().get(series_choices()[series_id].unit)
    return "" if term is None else (term.label_es if lang == "es" else term.label)


def period_label(date: pd.Timestamp, frequency: str, lang: str) -> str:
    if frequency == "annual":
        return str(date.year)
    if frequency == "half_yearly":
        return t("impact.period.half", lang, half=str(1 + (date.month - 1) // 6), year=str(date.year))
    return month(date, lang)


def span_label(start: pd.Timestamp, end_exclusive: pd.Timestamp, frequency: str, lang: str) -> str:
    last = end_exclusive - pd.DateOffset(months=PERIOD_MONTHS[frequency])
    a, b = period_label(start, frequency, lang), period_label(last, frequency, lang)
    return a if a == b else t("impact.span", lang, start=a, end=b)


def milestone_title(milestone_id: str, lang: str) -> str:
    ms = store.milestones().set_index("id")
    return ms.loc[milestone_id, "title_es" if lang == "es" else "title_en"]


def p_value(v: float, lang: str) -> str:
    """A p-value as the page writes it everywhere (table and caveats): three decimals, or "< 0.001"
    (the caveats said "p = 0.00" beside the table's "< 0.001")."""
    return "<\u00a00.001" if v < 0.001 else number(v, lang, 3)  # a no-break space: "<" never ends a line


def p_relation(v: float, lang: str) -> str:
    """ "= 0.012" or "< 0.001", for a message that reads "p {value}"."""
    text = p_value(v, lang)
    return text if text.startswith("<") else f"=\u00a0{text}"


def note_text(n: Note, lang: str, frequency: str = "monthly") -> str:
    """A caveat code in words: ``analysis.warning.<code>`` (page-only codes: ``impact.note.<code>``)."""
    code, params = n
    key = f"impact.note.{code}" if code in PAGE_NOTES else f"analysis.warning.{code}"
    params = dict(params)
    for k, v in params.items():
        if isinstance(v, pd.Timestamp):
            params[k] = period_label(v, frequency, lang)
        elif k in ("lb_p", "adf_p"):  # the message reads "p {lb_p}": "p = 0.012", "p < 0.001"
            params[k] = p_relation(v, lang)
        elif k == "min_p":
            params[k] = p_value(v, lang)
        elif k == "side":
            params[k] = t(f"impact.side.{v}", lang)
    return t(key, lang, **params)


def error_text(exc: Exception, lang: str) -> str:
    if isinstance(exc, AnalysisError):
        params = {k: (month(v, lang) if isinstance(v, pd.Timestamp) else v) for k, v in exc.params.items()}
        return t(f"analysis.error.{exc.code}", lang, **params)
    # Anything else is the library's own words, in English: logged for us, not shown to the reader.
    log.warning("analysis failed: %s", exc)
    return t("impact.error.generic", lang)


def verdict_text(r: ImpactResult, lang: str) -> str:
    """The verdict, first: one plain sentence, plus the space-placebo and overlap sentences."""
    v, p = r.verdict, r.verdict.params
    per = t(f"impact.per.{r.its.period_unit}", lang)
    words = {
        "pct": percent(p["pct"], lang, 1), "signed": signed_percent(r.its.change.pct, lang), "low": signed_percent(p["pct_low"], lang), "high": signed_percent(p["pct_high"], lang),
        "count": number(abs(p["per_period"]), lang), "unit": unit_label(r.series_id, lang), "per": per,
        "share": percent(p.get("share", float("nan")), lang), "n": str(p["n_placebos"]),
        "rank": str(p.get("rank", "")), "n_dates": str(p.get("n_dates", "")),
        "milestone": milestone_title(r.milestone_id, lang),
    }
    s = r.synth
    if s is not None:
        words.update(geo=geo_label(r.geo, lang), space_pct=signed_percent(s.effect_pct, lang), space_rank=str(s.rank),
                     n_units=str(s.n_units))
    key = v.code
    if key == "untestable" and not p["n_placebos"]:
        key = "untestable_none"
    elif p["basis"] == "space":
        key += "_space"
    out = [t(f"impact.verdict.{key}", lang, **words)]
    bend = r.its.bend
    if bend is not None and bend.p_value < ALPHA:
        # said beside the answer: a reader saw "no evidence of a change" over a table row that
        # reads "+257.5%, p < 0.001", with its "not used in the answer" easy to miss
        out.append(t("impact.verdict.bend", lang, bend=signed_percent(np.expm1(bend.estimate), lang),
                     bend_p=p_relation(bend.p_value, lang)))
    if s is not None and p["basis"] != "space":
        out.append(t("impact.verdict.space", lang, **words))
    elif s is None and r.synth_status[0] == "national":
        out.append(t("impact.verdict.no_pool", lang))
    if v.overlaps:
        shown = v.overlaps[:OVERLAPS_NAMED]
        names = ", ".join(f"“{milestone_title(m, lang)}”" for m in shown)
        more = len(v.overlaps) - len(shown)
        out.append(t("impact.verdict.overlap_more" if more else "impact.verdict.overlap", lang, names=names,
                     more=str(more)))
    return " ".join(out)


def results_table(r: ImpactResult, lang: str) -> pd.DataFrame:
    """The numbers under the verdict, in the reader's language (columns: measure, estimate, interval, p)."""
    w, its, pl, freq = r.windows, r.its, r.placebo, r.its.frequency
    c = its.change
    unit = unit_label(r.series_id, lang)
    per = t(f"impact.per.{its.period_unit}", lang)
    to = t("impact.to", lang)

    means = shared_digits([w.mean_before, w.mean_after, w.difference])  # read together: one precision
    step = shared_digits([c.per_period, c.per_period_low, c.per_period_high])

    def mean_row(key, mean, start, end, n):
        return {"measure": t(key, lang, span=span_label(start, end, freq, lang), n=str(n)),
                "estimate": number(mean, lang, means), "interval": "", "p": ""}

    rows = [
        mean_row("impact.row.mean_before", w.mean_before, w.before_start, w.before_end, w.n_before),
        mean_row("impact.row.mean_after", w.mean_after, w.after_start, w.after_end, w.n_after),
        {"measure": t("impact.row.difference", lang),
         "estimate": f"{signed_number(w.difference, lang, means)} ({signed_percent(w.pct_change / 100, lang) if w.pct_change is not None else '—'})",
         "interval": "", "p": ""},
        {"measure": t("impact.row.step", lang), "estimate": signed_percent(c.pct, lang),
         "interval": f"{signed_percent(c.pct_low, lang)} {to} {signed_percent(c.pct_high, lang)}", "p": p_value(c.p_value, lang)},
        {"measure": t("impact.row.step_count", lang, unit=unit, per=per), "estimate": signed_number(c.per_period, lang, step),
         "interval": f"{signed_number(c.per_period_low, lang, step)} {to} {signed_number(c.per_period_high, lang, step)}",
         "p": ""},
    ]
    if its.bend is not None:
        b = its.bend
        rows.append({"measure": t("impact.row.bend", lang), "estimate": signed_percent(np.expm1(b.estimate), lang),
                     "interval": f"{signed_percent(np.expm1(b.ci_low), lang)} {to} {signed_percent(np.expm1(b.ci_high), lang)}",
                     "p": p_value(b.p_value, lang)})
    if pl.n_placebos:
        rows.append({"measure": t("impact.row.placebo_time", lang, n=str(pl.n_placebos)),
                     "estimate": t("impact.cell.placebo_time", lang, share=percent(pl.share, lang), rank=str(pl.rank),
                                   n=str(pl.n_placebos + 1)),
                     "interval": "", "p": p_value(pl.p_value, lang)})
    else:
        rows.append({"measure": t("impact.row.placebo_time", lang, n="0"), "estimate": t("impact.cell.no_placebo", lang),
                     "interval": "", "p": ""})
    if r.synth is not None:
        s = r.synth
        rows.append({"measure": t("impact.row.placebo_space", lang, n=str(len(s.donors))),
                     "estimate": t("impact.cell.placebo_space", lang, pct=signed_percent(s.effect_pct, lang),
                                   rank=str(s.rank), n=str(s.n_units), rmspe=number(s.pre_rmspe, lang, 1)),
                     "interval": "", "p": p_value(s.p_value, lang)})
    else:
        code = r.synth_status[0]
        rows.append({"measure": t("impact.row.placebo_space", lang, n="0"),
                     "estimate": t(f"impact.cell.synth_{code}", lang), "interval": "", "p": ""})
    return pd.DataFrame(rows, columns=["measure", "estimate", "interval", "p"])


def table_headers(lang: str) -> dict[str, str]:
    """The results table's columns (of ``results_table``) and their headers."""
    return {c: t(f"impact.col.{c}", lang) for c in ("measure", "estimate", "interval", "p")}


def caveats(r: ImpactResult, lang: str) -> list[str]:
    out = [note_text(n, lang, r.its.frequency) for n in r.notes]
    return out + [t("impact.caveat.not_proof", lang)]


# ---------------------------------------------------------------- figures


def source_subtitle(series_ids: list[str], lang: str) -> dict:
    """The figure's source line (publisher short name and snapshot) as its title's subtitle, so an
    exported image still says where the numbers come from."""
    return {"text": wrap(source_text(series_ids, lang), SOURCE_WRAP), "font": {"size": 10, "color": "#666"}}


def source_text(series_ids: list[str], lang: str) -> str:
    sources = list(dict.fromkeys(series_choices()[s].source_id for s in series_ids if s in series_choices()))
    return t("figure.source", lang, sources="; ".join(
        t("figure.source_item", lang, source=store.source_short(sid, lang), snapshot=store.provenance(sid)["snapshot"])
        for sid in sources))


# Under the plot, hung from it (paper y below 0) so the bottom margin grows to fit it: anchored to
# the bottom of the figure instead, a phone's legend of seven or nine rows covered the x labels.
LEGEND_BELOW = {"orientation": "h", "y": -0.14, "yanchor": "top", "x": 0}
YTITLE_WRAP = 22
XTITLE_WRAP = 40  # characters: a phone's plot is about 300 px wide
# Characters per title line that fit a phone's chart (SVG titles never wrap themselves).
TITLE_WRAP = 44


TITLE_TOP = 72  # px of top margin over a one-line title and source; each further line adds:
TITLE_LINE, SOURCE_LINE = 22, 13


def _title(text: str, size: int, series_ids: list[str] | None = None, lang: str = "en") -> tuple[dict, int, dict]:
    """A chart title wrapped to fit a phone, pinned to the top of the figure (plotly would move a
    title of several lines into its own subtitle), with the source line of ``series_ids`` under
    it; the extra top margin their added lines need; and the layout's meta, with which the page
    re-wraps both to a wider chart (figures.title_fit)."""
    wrapped = wrap(text, TITLE_WRAP)
    spec = {"text": wrapped, "x": 0.01, "font": {"size": size}, "yref": "container", "y": 1, "yanchor": "top", "pad": {"t": 12}}
    extra = TITLE_LINE * wrapped.count("<br>")
    source = ("", "", 10)
    if series_ids:
        spec["subtitle"] = source_subtitle(series_ids, lang)
        extra += SOURCE_LINE * spec["subtitle"]["text"].count("<br>")
        source = (source_text(series_ids, lang), spec["subtitle"]["text"], 10)
    meta = {"fit": title_fit([(text, wrapped, size, None)], source, top=TITLE_TOP + extra, top_min=TITLE_TOP,
                             title_line=TITLE_LINE, source_line=SOURCE_LINE)}
    return spec, extra, meta


def _ytitle(text: str) -> dict:
    """A y-axis title in lines short enough to run up the short plots of this page on a phone
    ("índice, 100 = promedio de la ventana anterior" was taller than its plot)."""
    return {"text": wrap(text, YTITLE_WRAP)}


def _layout(title: str, height: int = 420, series_ids: list[str] | None = None, lang: str = "en") -> dict:
    title_spec, extra, meta = _title(title, 15, series_ids, lang)
    return {"title": title_spec, "meta": meta, "font": {"family": FONT, "size": 12}, "separators": SEPARATORS,
            "height": height, "plot_bgcolor": "#fff", "margin": {"l": 70, "r": 20, "t": TITLE_TOP + extra, "b": 80},
            "legend": LEGEND_BELOW,
            "xaxis": {"type": "date", "gridcolor": "#eee"},
            "yaxis": {"gridcolor": "#eee", "rangemode": "tozero", "tickformat": ",~g"}}


def impact_figure(r: ImpactResult, lang: str) -> dict:
    """The whole series faint for context, the analysed windows bold, the fit over both windows,
    and the counterfactual (with its band) over the after window only."""
    its, y = r.its, r.prepared.series
    unit = unit_label(r.series_id, lang)
    label = series_label(r.series_id, lang)
    fmt = "%{x|%Y}" if its.frequency == "annual" else "%{x|%b %Y}"
    hover = f"{fmt}: %{{y:,.0f}} {unit}<extra>%{{fullData.name}}</extra>"
    cf, lo, hi = its.counterfactual, its.counterfactual_low, its.counterfactual_high
    w = its.windows
    pre = its.fitted[its.fitted.index < w.pre_end]
    post = its.fitted[its.fitted.index >= w.post_start]
    traces = [
        {"type": "scatter", "x": y.index, "y": y.values, "mode": "lines", "name": t("impact.fig.whole_series", lang),
         "line": {"color": "#bbb", "width": 1}, "hovertemplate": hover},
        {"type": "scatter", "x": its.observed.index, "y": its.observed.values, "mode": "markers",
         "name": t("impact.fig.observed", lang), "marker": {"color": PALETTE[0], "size": 6}, "hovertemplate": hover},
        {"type": "scatter", "x": pre.index, "y": pre.values, "mode": "lines", "name": t("impact.fig.fitted_before", lang),
         "line": {"color": PALETTE[2], "width": 3}, "hovertemplate": hover},
        {"type": "scatter", "x": post.index, "y": post.values, "mode": "lines", "name": t("impact.fig.fitted_after", lang),
         "line": {"color": PALETTE[1], "width": 3}, "hovertemplate": hover},
        {"type": "scatter", "x": list(hi.index) + list(lo.index[::-1]), "y": list(hi.values) + list(lo.values[::-1]),
         "fill": "toself", "fillcolor": CF_BAND, "line": {"width": 0}, "mode": "lines", "hoverinfo": "skip",
         "name": t("impact.fig.band", lang)},
        {"type": "scatter", "x": cf.index, "y": cf.values, "mode": "lines", "name": t("impact.fig.counterfactual", lang),
         "line": {"color": PALETTE[2], "width": 2, "dash": "dash"}, "hovertemplate": hover},
    ]
    title = t("impact.fig.title", lang, series=label, geo=geo_label(r.geo, lang),
              milestone=milestone_title(r.milestone_id, lang))
    layout = _layout(title, series_ids=[r.series_id], lang=lang)
    margin = pd.DateOffset(months=max(6, r.window // 2))
    layout["xaxis"]["range"] = [w.pre_start - margin, w.post_end + margin]
    layout["yaxis"]["title"] = _ytitle(unit)
    visible = y[(y.index >= w.pre_start - margin) & (y.index < w.post_end + margin)]
    lows = [float(visible.min()), float(lo.min())] if len(visible) else [float(lo.min())]
    highs = [float(visible.max()), float(hi.max())] if len(visible) else [float(hi.max())]
    pad = 0.08 * (max(highs) - min(lows) or max(highs) or 1)
    # the step is a few percent of the level: an axis from zero would flatten it; say where it starts
    layout["yaxis"].update(range=[max(0.0, min(lows) - pad), max(highs) + 2 * pad], rangemode="normal")
    ms = store.milestones().set_index("id")
    shapes = [{"type": "rect", "xref": "x", "yref": "paper", "x0": w.pre_end, "x1": w.post_start, "y0": 0, "y1": 1,
               "fillcolor": "rgba(0,0,0,0.06)", "line": {"width": 0}, "layer": "below"}]
    when = ms.loc[r.milestone_id, "date"]
    shapes.append({"type": "line", "x0": when, "x1": when, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
                   "line": {"color": HIGHLIGHT_COLOR, "width": 2}})
    notes = [{"x": when, "y": 1, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
              # the date, not the name: the title names the milestone, and its name ran off a phone's chart
              "text": f"<b>{day(when, lang)}</b>", "font": {"color": HIGHLIGHT_COLOR}}]
    for other in r.verdict.overlaps:
        d = ms.loc[other, "date"]
        shapes.append({"type": "line", "x0": d, "x1": d, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
                       "line": {"color": OVERLAP_COLOR, "width": 1, "dash": "dot"}})
    if r.verdict.overlaps:  # one hoverable marker per other milestone, at the top, instead of crowded labels
        dates = [ms.loc[o, "date"] for o in r.verdict.overlaps]
        traces.append({"type": "scatter", "x": dates, "y": [layout["yaxis"]["range"][1]] * len(dates),
                       "mode": "markers", "marker": {"symbol": "triangle-down", "size": 9, "color": OVERLAP_COLOR},
                       "name": t("impact.fig.other_milestones", lang),
                       "text": [milestone_title(o, lang) for o in r.verdict.overlaps],
                       "hovertemplate": "%{x|%d %b %Y}: %{text}<extra></extra>"})
    layout["shapes"], layout["annotations"] = shapes, notes
    return {"data": traces, "layout": layout}


def placebo_figure(r: ImpactResult, lang: str) -> dict:
    """The step at every ordinary date (%), with the milestone's marked: what "shifts this large
    happen at X% of ordinary dates" means. Binned here (bars), so the basic plotly bundle draws it."""
    pl = r.placebo
    est = pl.placebo["estimate"].to_numpy() * 100
    real = pl.real_estimate * 100
    lo, hi = min(est.min(), real), max(est.max(), real)
    edges = np.linspace(lo, hi, 26) if hi > lo else np.array([lo - 1, hi + 1])
    counts, edges = np.histogram(est, bins=edges)
    mids, width = (edges[:-1] + edges[1:]) / 2, float(edges[1] - edges[0])
    as_large = np.abs(np.log1p(mids / 100)) >= abs(np.log1p(real / 100))
    traces = [{"type": "bar", "x": mids, "y": counts, "width": width * 0.95, "name": t("impact.fig.placebo_dates", lang),
               "marker": {"color": ["#e6a0a0" if a else "#9ab" for a in as_large]},
               "customdata": np.stack([edges[:-1], edges[1:]], axis=1),
               "hovertemplate": t("impact.fig.placebo_hover", lang) + "<extra></extra>"}]
    layout = _layout(t("impact.fig.placebo_title", lang, n=str(pl.n_placebos)), height=300, series_ids=[r.series_id],
                     lang=lang)
    layout["xaxis"] = {"title": {"text": t("impact.fig.placebo_x", lang)}, "gridcolor": "#eee", "ticksuffix": "%"}
    layout["yaxis"] = {"title": _ytitle(t("impact.fig.placebo_y", lang)), "gridcolor": "#eee"}
    layout["shapes"] = [{"type": "line", "x0": real, "x1": real, "y0": 0, "y1": 1, "yref": "paper",
                         "line": {"color": HIGHLIGHT_COLOR, "width": 3}}]
    layout["annotations"] = [{"x": real, "y": 1, "yref": "paper", "yanchor": "bottom", "showarrow": False,
                              "text": f"<b>{t('impact.fig.placebo_milestone', lang)}</b>",
                              "font": {"color": HIGHLIGHT_COLOR}}]
    layout["showlegend"] = False
    layout["bargap"] = 0
    return {"data": traces, "layout": layout}


def synth_figure(r: ImpactResult, lang: str) -> dict:
    s = r.synth
    geo = geo_label(r.geo, lang)
    fmt = "%{x|%Y}" if r.its.frequency == "annual" else "%{x|%b %Y}"
    hover = f"{fmt}: %{{y:.1f}}<extra>%{{fullData.name}}</extra>"
    traces = [
        {"type": "scatter", "x": s.treated_index.index, "y": s.treated_index.values, "mode": "lines+markers",
         "name": geo, "line": {"color": PALETTE[0], "width": 2}, "hovertemplate": hover},
        {"type": "scatter", "x": s.synthetic_index.index, "y": s.synthetic_index.values, "mode": "lines",
         "name": t("impact.fig.synthetic", lang, geo=geo), "line": {"color": PALETTE[1], "width": 2, "dash": "dash"},
         "hovertemplate": hover},
    ]
    layout = _layout(t("impact.fig.synth_title", lang, geo=geo), height=340, series_ids=[r.series_id], lang=lang)
    layout["yaxis"] = {"title": _ytitle(t("impact.fig.synth_y", lang)), "gridcolor": "#eee", "tickformat": ",~g"}
    w = r.its.windows
    layout["shapes"] = [{"type": "rect", "xref": "x", "yref": "paper", "x0": w.pre_end, "x1": w.post_start,
                         "y0": 0, "y1": 1, "fillcolor": "rgba(0,0,0,0.06)", "line": {"width": 0}, "layer": "below"}]
    return {"data": traces, "layout": layout}


def synth_weights(r: ImpactResult, lang: str) -> pd.DataFrame:
    """The donor pool's weights, largest first (the zeros are the rest of the pool)."""
    s = r.synth
    return pd.DataFrame({"donor": [geo_label(g, lang) for g in s.weights.index],
                         "weight": [percent(v, lang, 1) for v in s.weights.values]})


def xcorr(x_id: str, x_geo: str, y_id: str, y_geo: str, lang: str = "en",
          method: str = "difference") -> tuple[dict, list[str], str]:
    """Lagged cross-correlation figure, warnings and a one-line reading."""
    x, fx = load_series(x_id, x_geo)
    y, fy = load_series(y_id, y_geo)
    warnings = []
    if OVERLAPPING and (fx in OVERLAPPING or fy in OVERLAPPING):
        # Monthly counts cannot be recovered here; year-over-year changes of the rolling sums
        # are the honest comparison for a 12-month-ending series.
        x = x.pct_change(12).dropna() if fx in OVERLAPPING else x
        y = y.pct_change(12).dropna() if fy in OVERLAPPING else y
        warnings.append(t("impact.xcorr.rolling_yoy", lang))
    res = lagged_xcorr(x, y, frequency="monthly", method=method)
    names = {"x": series_label(x_id, lang), "y": series_label(y_id, lang)}
    trending = [t("analysis.warning.trending_item", lang, series=names[p["series"]], adf_p=p_relation(p["adf_p"], lang))
                for c, p in res.warnings if c == "trending"]
    if trending:  # one warning naming each trending series, not the whole caveat once per series
        warnings.append(t("analysis.warning.trending_list", lang,
                          trending=i18n.listing(trending, lang)))
    warnings += [note_text(n, lang) for n in res.warnings if n[0] != "trending"]
    tb = res.table
    colors = [HIGHLIGHT_COLOR if s else PALETTE[0] for s in tb["significant"]]
    title, extra, meta = _title(t("impact.xcorr.title", lang, x=names["x"], y=names["y"]), 14, [x_id, y_id], lang)
    band_lines = [(res.band, "#bbb", "dot"), (-res.band, "#bbb", "dot"),
                  (res.band_familywise, "#666", "dash"), (-res.band_familywise, "#666", "dash")]
    fig = {"data": [
        {"type": "bar", "x": tb["lag"], "y": tb["corr"], "marker": {"color": colors}, "name": t("impact.xcorr.corr", lang),
         "hovertemplate": t("impact.xcorr.hover", lang) + "<extra></extra>"},
    ], "layout": {
        "title": title, "meta": meta,
        "margin": {"t": TITLE_TOP + extra},
        "font": {"family": FONT, "size": 12}, "separators": SEPARATORS, "height": 360, "plot_bgcolor": "#fff", "showlegend": False,
        # wrapped: "rezago k en meses (k > 0: la primera serie anticipa k meses)" ran off a phone's chart
        "xaxis": {"title": {"text": wrap(t("impact.xcorr.x_axis", lang), XTITLE_WRAP)}, "gridcolor": "#eee",
                  "automargin": True},
        "yaxis": {"title": _ytitle(t("impact.xcorr.y_axis", lang)), "range": [-1, 1], "gridcolor": "#eee"},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": b, "y1": b,
                    "line": {"color": c, "dash": d}} for b, c, d in band_lines],
    }}
    code, p = res.reading
    if code == "no_significant_lag":
        reading = t("analysis.xcorr.no_significant_lag", lang, band=number(p["band"], lang, 2), n=str(p["n"]))
    else:
        key = "peak_lead" if p["lag"] > 0 else "peak_lag" if p["lag"] < 0 else "peak_same"
        reading = t(f"analysis.xcorr.{key}", lang, x=names["x"], y=names["y"], months=str(abs(p["lag"])),
                    corr=number(p["corr"], lang, 2), band=number(p["band"], lang, 2), n=str(p["n"]))
    return fig, warnings, reading


def flag_styles(geos: list[str]) -> dict[str, dict]:
    """A line style per flagged state that no other flagged state shares, so the legend tells
    them apart: the palette's colours (bar the national line's blue) first, then the same
    colours dashed, then dotted."""
    colors, dashes = PALETTE[1:], ["solid", "dash", "dot", "dashdot"]
    return {geo: {"color": colors[i % len(colors)], "dash": dashes[(i // len(colors)) % len(dashes)]}
            for i, geo in enumerate(geos)}


def discrepancy(lang: str = "en") -> tuple[dict, pd.DataFrame, list[str]]:
    """Death certificates / prosecutors' victims by state and year; states whose ratio jumps flagged."""
    from dashboard.analysis import source_discrepancy

    cols = ["geo", "date", "value"]
    ids = defaults()["discrepancy"]
    inegi = store.series_all(ids["deaths"])[cols]
    sesnsp = store.series_all(ids["victims"])[cols]
    res = source_discrepancy(inegi, sesnsp)
    tb = res.table
    traces = []
    styles = flag_styles(sorted(res.flagged_geos))
    for geo, g in tb.groupby("geo", sort=False):
        national, flagged = "-" not in geo, geo in res.flagged_geos
        name = geo_label(geo, lang)
        line = ({"color": "#111", "width": 3} if national else {**styles[geo], "width": 2} if flagged
                else {"color": "rgba(120,120,120,0.25)", "width": 1})
        traces.append({
            # 1 January of each year on a date axis: plotly then labels whole years only, every
            # year on a desktop and every other one on a phone (a linear axis with dtick 1 crowded)
            "type": "scatter", "x": pd.to_datetime(g["year"].astype(int).astype(str)), "y": g["ratio"],
            "customdata": g["year"], "mode": "lines+markers" if flagged else "lines",
            "name": name, "showlegend": national or flagged, "line": line,
            "hovertemplate": f"<b>{name}</b> %{{customdata}}: %{{y:.2f}}<extra></extra>",
        })
    title, extra, meta = _title(t("impact.disc.title", lang), 17, [ids["deaths"], ids["victims"]], lang)
    fig = {"data": traces, "layout": {
        "title": title, "meta": meta,
        "font": {"family": FONT, "size": 12}, "separators": SEPARATORS, "height": 460, "plot_bgcolor": "#fff",
        "margin": {"l": 70, "r": 20, "t": TITLE_TOP + extra, "b": 40},
        # under the chart: beside it, nine states' names left a phone's plot about 50 px wide
        "legend": LEGEND_BELOW,
        "xaxis": {"type": "date", "gridcolor": "#eee"}, "yaxis": {"title": _ytitle(t("impact.disc.ratio", lang)),
                                                               "gridcolor": "#eee"},
        "shapes": [{"type": "line", "xref": "paper", "x0": 0, "x1": 1, "y0": 1, "y1": 1,
                    "line": {"color": "#999", "dash": "dot"}}],
    }}
    flagged = tb[tb["flagged"]]
    table = pd.DataFrame({
        "state": flagged["geo"].map(lambda g: geo_label(g, lang)), "year": flagged["year"],
        "inegi": flagged["inegi"].map(lambda v: number(v, lang)), "sesnsp": flagged["sesnsp"].map(lambda v: number(v, lang)),
        "ratio": flagged["ratio"].map(lambda v: number(v, lang, 2)),
        "ratio_change": flagged["ratio_change"].map(lambda v: signed_percent(v, lang) if pd.notna(v) else "—"),
    })
    notes = [note_text(n, lang) for n in res.warnings] + [t("impact.disc.note", lang)]
    return fig, table, notes
