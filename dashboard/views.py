"""From a ViewState to what each timeline panel shows: selected, transformed series.

This is the "select data" half of every callback; figures.py is the "draw" half. Everything a
panel draws comes from its ``PanelSpec`` (dashboard.registry): this module names no source and
no series.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from dashboard import figures, i18n, store, transforms
from dashboard.figures import Line
from dashboard.i18n import number, t
from dashboard.registry import PanelSpec, Registry, SeriesSpec, label, registry
from dashboard.state import ViewState, panel_specs
from etl import vocabulary

TRANSFORM_KEYS = {"counts": "transform.counts", "per100k": "transform.per100k", "index": "transform.index",
                  "yoy": "transform.yoy"}


@dataclass(frozen=True)
class Shown:
    """One displayed series and what was done to it (for the table, download and citation)."""

    series_id: str
    name: str
    geo: str
    frame: pd.DataFrame  # date, value, raw, flag
    unit_label: str
    frequency: str
    source_id: str
    transform: str
    signed: bool = False  # the values are changes (year over year): written with their sign


@dataclass
class Panel:
    spec: PanelSpec
    geo: str
    lang: str
    title: str
    lines: list[Line] = field(default_factory=list)
    shown: list[Shown] = field(default_factory=list)
    sources: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    # Years without a population estimate, over all the panel's series: one note names them all.
    unrated_years: set[int] = field(default_factory=set)
    # Series drawn as published because a rate means nothing for them (seizures, scores): one note.
    counts_only: list[str] = field(default_factory=list)
    # Year-over-year: (values with a year-earlier one, values) -> the series, where that is few.
    yoy_sparse: dict[tuple[int, int], list[str]] = field(default_factory=dict)

    @property
    def key(self) -> str:
        return self.spec.key

    @property
    def y_label(self) -> str:
        return " / ".join(dict.fromkeys(self.labels)) or unit_name(self.spec.units[0], self.lang)

    def note(self, text: str) -> None:
        if text and text not in self.notes:
            self.notes.append(text)


def unit_name(unit: str, lang: str) -> str:
    return label(vocabulary.units()[unit], lang)


def word(code: tuple | None, lang: str) -> str:
    """A (catalog key, params) code from the transforms in the reader's language; nested codes
    (a rolling mean around an axis label) are worded inside out."""
    if not code:
        return ""
    key, params = code
    params = {k: (word(v, lang) if isinstance(v, tuple) else unit_name(v, lang) if k == "unit" else
                  label(vocabulary.frequencies()[v], lang) if k == "frequency" else v)
              for k, v in params.items()}
    return t(key, lang, **params)


def geo_label(spec: PanelSpec, geo: str, lang: str) -> str:
    for g, en, es in spec.geo_labels:
        if g == geo:
            return es if lang == "es" else en
    return store.geo_name(geo, lang)


def panel_title(spec: PanelSpec, geo: str, selection: dict, lang: str) -> str:
    suffix = "".join(
        i18n.pick(f.value(selection[f.key][0]), "title_suffix", lang)
        for f in spec.facets if f.kind == "single" and selection.get(f.key)
    )
    return label(spec, lang).format(geo=geo_label(spec, geo, lang)) + suffix


def index_date(state: ViewState) -> pd.Timestamp:
    """The month an index is based on: a milestone's month, or the given date's month."""
    return _index_month(state.index_at, store.milestones_token())


@lru_cache(maxsize=64)
def _index_month(index_at: str, _milestones_token: int) -> pd.Timestamp:
    ms = store.milestones()
    hit = ms[ms["id"] == index_at]
    when = pd.Timestamp(hit["date"].iloc[0]) if len(hit) else pd.Timestamp(index_at)
    return when.to_period("M").to_timestamp()


# Lines of the geographies compared with the chosen one: the series' colour for the chosen one,
# these for the others (none of them dashed: dashes mean provisional data).
COMPARE_COLORS = ("#7f8c8d", "#b7950b", "#5d6d7e", "#a04000", "#117a65", "#6c3483")


def _add_series(panel: Panel, state: ViewState, s: SeriesSpec, geo: str | None = None, color: str | None = None,
                index_at: pd.Timestamp | None = None) -> None:
    lang = state.lang
    geo = geo or panel.geo
    name = label(s, lang) if geo == panel.geo else f"{label(s, lang)} — {geo_label(panel.spec, geo, lang)}"
    rows = store.series(s.id, geo)
    if rows.empty:
        panel.note(t("note.no_data", lang, series=name, geo=geo_label(panel.spec, geo, lang)))
        return
    transform = state.transform if (s.per_100k or state.transform != "per100k") else "counts"
    if transform != state.transform and label(s, lang) not in panel.counts_only:
        panel.counts_only.append(label(s, lang))  # the series, not each geography compared
    result = transforms.apply(
        rows, transform=transform, frequency=s.frequency, unit=s.unit,
        population=store.population(geo) if transform == "per100k" else None,
        index_at=(index_at if index_at is not None else index_date(state)) if transform == "index" else None,
        rolling=state.rolling,
    )
    panel.note(word(result.note, lang))
    panel.unrated_years.update(result.unrated_years)
    freq = vocabulary.frequencies()[s.frequency]
    if transform == "yoy":
        sparse = yoy_matched(rows, result.frame, freq.periods_per_year)
        if sparse:
            panel.yoy_sparse.setdefault(sparse, []).append(name)
    frame = _within(result.frame, state.start, state.end)
    unit_label = word(result.label, lang)
    panel.labels.append(unit_label)
    prefix = t("period.12m_ending", lang) if freq.overlapping else \
        t("period.half_year", lang) if freq.periods_per_year == 2 else ""
    panel.lines.append(Line(name, frame, color or s.color, s.dash, hover_unit=unit_label, period_prefix=prefix,
                            markers=freq.periods_per_year <= 2))
    transform_text = t(TRANSFORM_KEYS[transform], "en") + (f", {state.rolling}-month mean" if "unsmoothed" in frame else "")
    panel.shown.append(Shown(s.id, name, geo, frame, unit_label, s.frequency, s.source_id, transform_text,
                             signed=transform == "yoy"))
    if s.source_id not in panel.sources:
        panel.sources.append(s.source_id)


def yoy_matched(rows: pd.DataFrame, transformed: pd.DataFrame, periods_per_year: int) -> tuple[int, int] | None:
    """Year-over-year needs a value exactly a year earlier. (values that have one, values) where
    fewer have one than in a regular series (every value after its first year): editions two
    years apart (the Organized Crime Index) gave an empty chart, lists at irregular dates two points."""
    total = int(rows["value"].notna().sum())
    changes = transformed["unsmoothed" if "unsmoothed" in transformed else "value"]
    matched = int(np.isfinite(changes.to_numpy(dtype=float)).sum())
    return (matched, total) if matched < total - max(periods_per_year, 1) else None


def unrated_note(years: set[int], lang: str) -> str:
    """One note for every year a panel's rates lack a population (not one per series)."""
    first, last = str(min(years)), str(max(years))
    return t("note.no_population_year", lang, year=first) if first == last else \
        t("note.no_population_years", lang, first=first, last=last)


def _within(frame: pd.DataFrame, start: str, end: str | None) -> pd.DataFrame:
    """The rows dated from ``start`` to ``end`` (inclusive); the frame itself when all are."""
    dates = frame["date"].to_numpy()
    keep = dates >= np.datetime64(pd.Timestamp(start))
    if end:
        keep &= dates <= np.datetime64(pd.Timestamp(end))
    return frame if keep.all() else frame[keep]


def common_index_base(lines: list[tuple[str, str]], at: pd.Timestamp) -> pd.Timestamp | None:
    """The first date on or after ``at`` by which every (series, geography) of a panel has a
    positive value: all its lines are indexed to that one date, so they start comparable (a
    series that begins after ``at`` would otherwise be 100 at its own start, others at ``at``)."""
    firsts = []
    for series_id, geo in lines:
        rows = store.series(series_id, geo)  # sorted by date, as the store returns them
        i = transforms.index_base(rows, at)
        if i is not None:
            firsts.append(pd.Timestamp(rows["date"].iloc[i]))
    return max(firsts) if firsts else None


def build_panel(spec: PanelSpec, state: ViewState) -> Panel:
    view = state.panel(spec.key)
    selection = view.selection()
    lang = state.lang
    panel = Panel(spec, view.geo, lang, panel_title(spec, view.geo, selection, lang))
    chosen = spec.select(selection)
    others = [g for g in view.compare if g != view.geo]
    base = None
    if state.transform == "index":
        asked = index_date(state)
        base = common_index_base([(s.id, g) for g in [view.geo, *others] for s in chosen], asked)
        if base is not None and base.to_period("M") != asked.to_period("M"):
            panel.note(t("note.index_common_base", lang, base=i18n.month(base, lang), asked=i18n.month(asked, lang)))
    for s in chosen:
        _add_series(panel, state, s, index_at=base)
    for i, (g, s) in enumerate((g, s) for g in others for s in chosen):
        _add_series(panel, state, s, geo=g, color=COMPARE_COLORS[i % len(COMPARE_COLORS)], index_at=base)
    if panel.counts_only:
        panel.note(t("note.no_rate", lang, series=i18n.listing(panel.counts_only, lang)))
    if panel.unrated_years:
        panel.note(unrated_note(panel.unrated_years, lang))
    for (matched, total), names in panel.yoy_sparse.items():  # one note per count, naming its series
        panel.note(t("note.yoy_matched", lang, series=i18n.listing(names, lang),
                     n=number(matched, lang), total=number(total, lang)))
    frequencies = {vocabulary.frequencies()[sh.frequency] for sh in panel.shown}
    if any(f.overlapping for f in frequencies):
        panel.notes.insert(0, t("note.overlapping", lang))
    if any(f.periods_per_year == 2 for f in frequencies):
        panel.note(t("note.half_yearly", lang))
    for n in spec.active_notes(selection):
        panel.note(label(n, lang))
    for flag in sorted(figures.drawn_flags(panel.lines)):
        key = f"flag.note.{flag}"
        if i18n.has(key):
            panel.note(t(key, lang))
    uneven = uneven_ends(panel)
    if uneven:
        panel.note(t("note.uneven_ends", lang, ends=i18n.listing(
            [t("note.uneven_end", lang, series=n, end=i18n.month(d, lang)) for n, d in uneven], lang)))
    ends = coverage_gap(panel)
    if ends:
        panel.note(t("note.coverage_gap", lang, series=ends[0], end=ends[1], latest=ends[2]))
    return panel


def uneven_ends(panel: Panel, months: int = 3) -> list[tuple[str, pd.Timestamp]]:
    """(line, last month) of a panel's lines of one source when they end ``months`` or more
    apart: a reader took the shorter line to have fallen, or stopped. (The seed's CDC lines come
    from two releases: all drugs ends Aug 2025, fentanyl Jan 2026.)"""
    by_source: dict[str, list[tuple[str, pd.Timestamp]]] = {}
    for s in panel.shown:
        values = s.frame.loc[s.frame["value"].notna(), "date"]
        if len(values):
            by_source.setdefault(s.source_id, []).append((s.name, values.max()))
    for lines in by_source.values():
        ends = [d for _, d in lines]
        if len(lines) > 1 and max(ends) - min(ends) >= pd.Timedelta(days=28 * months):
            return lines
    return []


def coverage_gap(panel: Panel) -> tuple[str, pd.Timestamp, pd.Timestamp] | None:
    """A shown series that ends well (over a year) before the same series' national figures:
    the reader should know the chart stops early for this geography, not the data."""
    for s in panel.shown:
        if not len(s.frame) or s.geo == panel.spec.default_geo or s.geo != panel.geo:
            continue
        national, here = store.series(s.series_id, panel.spec.default_geo), store.series(s.series_id, s.geo)
        if national.empty or here.empty:
            continue
        # The data's own ends (cached reads), not the view's: a chosen end date is no coverage gap.
        end, latest = here["date"].max(), national["date"].max()
        if latest - end > pd.Timedelta(days=366):
            return s.name, end, latest
    return None


def build_panels(state: ViewState, reg: Registry | None = None) -> list[Panel]:
    return [build_panel(spec, state) for spec in panel_specs(state, reg or registry())]


def x_range(state: ViewState, panels: list[Panel]) -> tuple[str, str]:
    """The shared time axis: the zoomed range if the reader zoomed, else start to end (or the
    latest date shown), and never before the first data point (axis ranges start at the data)."""
    if state.x0 and state.x1:
        return state.x0, state.x1
    starts = [s.frame["date"].min() for p in panels for s in p.shown if len(s.frame)]
    ends = [s.frame["date"].max() for p in panels for s in p.shown if len(s.frame)]
    latest = max(ends).date().isoformat() if ends else pd.Timestamp.today().date().isoformat()
    first = min(starts).date().isoformat() if starts else state.start
    return max(state.start, first), state.end or latest


def displayed_data(panels: list[Panel]) -> pd.DataFrame:
    """Exactly what the charts show, one row per point, with provenance columns."""
    frames = []
    for p in panels:
        for s in p.shown:
            prov = store.provenance(s.source_id)
            frames.append(pd.DataFrame({
                "panel": p.key, "series_id": s.series_id, "series": s.name, "geo": s.geo,
                "geo_name": store.geo_name(s.geo, p.lang), "date": s.frame["date"].dt.strftime("%Y-%m-%d"),
                "value": s.frame["value"], "raw_value": s.frame["raw"], "unit": s.unit_label,
                "frequency": s.frequency, "flag": s.frame["flag"], "source_id": s.source_id,
                "publisher": prov["publisher"], "snapshot": prov["snapshot"],
                "snapshot_md5": ";".join(f"{k}={v}" for k, v in sorted(prov["snapshot_md5s"].items())),
                "transform": s.transform,
            }))
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def clip_to_zoom(panels: list[Panel], state: ViewState) -> list[Panel]:
    """The panels with each series cut to the zoomed range (downloads follow the zoom)."""
    if not (state.x0 and state.x1):
        return panels
    lo, hi = pd.Timestamp(state.x0), pd.Timestamp(state.x1)
    for p in panels:
        p.shown = [Shown(**{**s.__dict__, "frame": s.frame[(s.frame["date"] >= lo) & (s.frame["date"] <= hi)]})
                   for s in p.shown]
    return panels


CHANGE_COLUMNS = ["series", "geo_name", "unit", "first_date", "first", "last_date", "last", "change", "change_pct"]


def change_table(panels: list[Panel]) -> pd.DataFrame:
    """First and last displayed value of each series, and the change between them."""
    rows = []
    for p in panels:
        for s in p.shown:
            values = s.frame["value"].to_numpy(dtype=float)
            present = np.flatnonzero(~np.isnan(values))
            if not len(present):
                continue
            i, j = present[0], present[-1]
            first, last = values[i], values[j]
            dates = s.frame["date"].to_numpy()
            rows.append({
                "series": s.name, "geo_name": store.geo_name(s.geo, p.lang), "unit": s.unit_label,
                "first_date": str(dates[i])[:10], "first": first, "last_date": str(dates[j])[:10], "last": last,
                "change": last - first, "change_pct": (last - first) / first * 100 if first else None,
            })
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def export(state: ViewState, fmt: str) -> tuple[bytes, str]:
    """The displayed data as CSV or Parquet bytes, and a file name naming view and data version."""
    panels = clip_to_zoom(build_panels(state), state)
    df = displayed_data(panels)
    name = download_name(state, store.data_version([sid for p in panels for sid in p.sources]))
    if fmt == "parquet":
        buf = io.BytesIO()
        df.to_parquet(buf, index=False)
        return buf.getvalue(), f"{name}.parquet"
    return df.to_csv(index=False).encode("utf-8"), f"{name}.csv"


def download_name(state: ViewState, version: str) -> str:
    """Names the view and the data version: xborder_US_MX_CBP-SWB_counts_<version>."""
    parts = ["xborder", *[state.panel(k).geo for k in state.panels], state.transform]
    if state.rolling:
        parts.append(f"roll{state.rolling}")
    if state.x0 and state.x1:
        parts.append(f"{state.x0[:7]}_{state.x1[:7]}")
    return "_".join(parts + [version])


# Change points further than this from every milestone are not paired with one.
CHANGEPOINT_MAX_MONTHS = 12


def changepoints_for(panel: Panel, milestones: pd.DataFrame) -> tuple[list, list, str] | None:
    """Change points (PELT) of the panel's first series, each labelled with its nearest milestone
    (title and signed distance), only when one lies within ``CHANGEPOINT_MAX_MONTHS``: their
    dates, labels and the name of the line they were found in."""
    if not panel.lines:
        return None
    from dashboard.analysis.changepoints import detect_changepoints

    line, lang = panel.lines[0], panel.lang
    if line.period_prefix:  # overlapping 12-month-ending sums: see dashboard.analysis.guards
        panel.note(t("note.changepoints_12m", lang))
        return None
    y = line.frame.dropna(subset=["value"]).set_index("date")["value"]
    if len(y) < 24:
        panel.note(t("note.changepoints_short", lang))
        return None
    result = detect_changepoints(y, frequency=panel_frequency(panel),
                                 milestones=dict(zip(milestones["id"], milestones["date"])))
    titles = dict(zip(milestones["id"], milestones["title_es" if lang == "es" else "title_en"]))
    labels = []
    for b in result.breaks:
        params = dict(b.params)
        if "milestone" in params:
            params["milestone"] = titles.get(params["milestone"], params["milestone"])
        key = f"analysis.changepoint.{b.code}"
        near = t(key, lang, date=i18n.month(b.date, lang), **params) if i18n.has(key) else \
            t("changepoint.none_near", lang, max=CHANGEPOINT_MAX_MONTHS)
        labels.append(f"{line.name}: {near}")
    return [b.date for b in result.breaks], labels, line.name


def panel_frequency(panel: Panel) -> str:
    freqs = {s.frequency for s in panel.shown} or {"monthly"}
    return "annual" if freqs == {"annual"} else "monthly"


def text_summary(panel: Panel) -> str:
    """What the chart shows, in one sentence per series, for screen readers and quick reading."""
    lang = panel.lang
    parts = []
    for s in panel.shown:
        values = s.frame["value"].to_numpy(dtype=float)
        present = np.flatnonzero(~np.isnan(values))
        if not len(present):
            continue
        dates = pd.DatetimeIndex(s.frame["date"])
        i, j, k = present[0], present[-1], present[np.argmax(values[present])]
        prefix = t("period.12m_ending", lang) if vocabulary.frequencies()[s.frequency].overlapping else ""
        digits = i18n.shared_digits(values[[i, j, k]])  # "−6.5 to −10.9", not "−6.52 to −10.9"
        fmt = i18n.signed_number if s.signed else number  # "+11.3 to −22.2", not "11.3 to -22.2"
        first, last, peak = (fmt(float(values[x]), lang, digits) for x in (i, j, k))
        parts.append(t("summary.series", lang, series=s.name, first=first,
                       first_date=prefix + i18n.month(dates[i], lang), last=last,
                       last_date=prefix + i18n.month(dates[j], lang), peak=peak,
                       peak_date=i18n.month(dates[k], lang), unit=s.unit_label))
    return " ".join(parts) or t("summary.empty", lang)


def source_note(panel: Panel) -> str:
    lang = panel.lang
    return t("figure.source", lang, sources="; ".join(
        t("figure.source_item", lang, source=store.source_short(sid, lang),
          snapshot=store.provenance(sid)["snapshot"]) for sid in panel.sources))


def panel_figure(panel: Panel, state: ViewState, x_range: tuple[str, str]) -> tuple[dict, list[str]]:
    """The panel's figure spec and the notes to print under it."""
    lang = state.lang
    ms = store.milestones()
    ms = ms[ms["category"].isin(state.cats)]
    cps = changepoints_for(panel, ms) if state.changepoints else None
    notes = list(panel.notes)
    if state.log:
        hidden = sum(transforms.log_hidden(line.frame["value"]) for line in panel.lines)
        if hidden:  # a note on every panel saying nothing is hidden would only be noise
            notes.append(t("note.log_hidden", lang, n=hidden))
    spec = figures.timeline_spec(
        panel.lines, ms, title=panel.title, y_label=panel.y_label, x_range=x_range, log=state.log,
        highlight=state.hl, lang=lang, changepoints=cps,
        message="" if any(line.frame["value"].notna().any() for line in panel.lines) else t("figure.no_data", lang),
        source_note=source_note(panel),
        breaks=[(b.date, label(b, lang)) for b in panel.spec.breaks], numbers=store.milestone_numbers(),
        text=figures.FigureText.for_lang(lang),
    )
    return spec, notes
