"""The Revisions page's work, pure: how CDC's provisional counts changed from one data vintage
(raw snapshot) to the next, and what was known on a given date, worded in the reader's language."""

from __future__ import annotations

import textwrap
from typing import NamedTuple

import pandas as pd

import tomllib
from pathlib import Path

import etl
from dashboard import store
from dashboard.figures import FONT, HIGHLIGHT_COLOR, SEPARATORS, SOURCE_WRAP, title_fit
from dashboard.i18n import listing, month, number, pick, signed_percent, t
from etl import vocabulary
from etl.snapshot import list_snapshots
from etl.vintages import revisions, snapshots_as_of, table_for

# Which source's vintages the page compares: metadata (revisions.toml), not code.
SOURCE = tomllib.loads((Path(__file__).with_name("revisions.toml")).read_text(encoding="utf-8"))["source"]
VINTAGE_STYLES = [("#1f4e79", "solid", 2.5), ("#5d8bbd", "dash", 2), ("#9bb4cf", "dot", 2), ("#c3d1e0", "dot", 1.5)]  # newest first
TITLE_WIDTH = 46   # characters per title line: plotly does not wrap titles, and a phone is ~50 wide
# The page lists reported counts only; their titles say so, which the page need not repeat.
REPORTED_SUFFIX = {"en": " (reported)", "es": " (registradas)"}


def series_keys(lang: str = "en") -> dict[str, str]:
    """Short key -> title of every reported (not predicted) CDC VSRR series."""
    meta = etl.series(SOURCE)
    meta = meta[~meta["series_id"].str.endswith("_predicted")]
    suffix = REPORTED_SUFFIX.get(lang, "")
    return {r["series_id"].split(".", 1)[1]: pick(r, "title", lang).removesuffix(suffix)
            for r in meta.to_dict("records")}


def vintages() -> list[str]:
    """Snapshot dates of the source, oldest first: each is a vintage."""
    return [s.date for s in list_snapshots(SOURCE)]


def vintage_counts(geo: str) -> dict[str, int]:
    """Series key -> number of vintages with at least one value for this geography."""
    ids = [df.loc[(df["geo"] == geo) & df["value"].notna(), "series_id"].drop_duplicates()
           for df in map(table_for, list_snapshots(SOURCE))]
    return pd.concat(ids).str.split(".", n=1).str[1].value_counts().to_dict() if ids else {}


def revision_rows(key: str, geo: str) -> pd.DataFrame:
    """etl.vintages.revisions() for one series and geography, rows without a value dropped."""
    return revisions(f"{SOURCE}.{key}", geo).dropna(subset=["value"]).reset_index(drop=True)


def revision_table(rev: pd.DataFrame) -> pd.DataFrame:
    """Months present in more than one vintage: value per vintage (columns ``as of <vintage>``),
    newest − earliest, % revision."""
    shared = rev[rev.groupby("date")["vintage"].transform("nunique") > 1]
    if shared.empty:
        return pd.DataFrame(columns=["date", "revision", "pct_revision"])
    wide = shared.pivot_table(index="date", columns="vintage", values="value", aggfunc="last").sort_index()
    first = shared.sort_values("vintage").groupby("date")["value"]
    out = wide.rename(columns=lambda v: f"as of {v}").rename_axis(columns=None)
    out["revision"] = first.last() - first.first()
    out["pct_revision"] = 100 * out["revision"] / first.first()
    return out.reset_index()


def summary(rev: pd.DataFrame, lang: str = "en", as_of: str | None = None) -> str:
    """One sentence on the latest month shared by two or more vintages; with ``as_of``, of the
    vintages published on or before it: a revision published later was not yet known then. When
    the series has revisions that came out after ``as_of`` only, the sentence says none had yet."""
    if as_of is None:
        return _summary(rev, lang)
    day, every = f"{pd.Timestamp(as_of):%Y-%m-%d}", vintages()  # one listing of the snapshots on disk
    published = [v for v in every if v <= day]
    full = _summary(rev, lang)
    if len(published) == len(every) or not full:  # every vintage known (or nothing ever revised)
        return full
    known = _summary(rev[rev["vintage"] <= day], lang)
    if known:
        return known
    if not published:
        return t("revisions.summary.none_yet", lang, date=day)
    if len(published) == 1:
        return t("revisions.summary.one_yet", lang, date=day, vintage=published[0])
    return t("revisions.summary.unshared_yet", lang, date=day, vintages=listing(published, lang))


def _summary(rev: pd.DataFrame, lang: str) -> str:
    n = rev.groupby("date")["vintage"].nunique()
    if not (n > 1).any():
        return ""
    date = n[n > 1].index.max()
    rows = rev[rev["date"] == date].sort_values("vintage")
    old, new = rows.iloc[0], rows.iloc[-1]
    pct = 100 * (new["value"] - old["value"]) / old["value"]
    return t("revisions.summary", lang, old=old["vintage"], new=new["vintage"], month=month(date, lang),
             before=number(old["value"], lang, 0), after=number(new["value"], lang, 0), pct=signed_percent(pct / 100, lang))


class AsOf(NamedTuple):
    frame: pd.DataFrame  # date, value, flag as known on the date (empty when nothing was)
    vintage: str | None
    message: str


def as_of_view(key: str, geo: str, as_of: str, lang: str = "en") -> AsOf:
    """The series exactly as known on ``as_of``: built from the newest vintage on or before it."""
    when = pd.Timestamp(as_of)
    day = f"{when:%Y-%m-%d}"
    try:
        df = etl.load(f"{SOURCE}.{key}", geo=geo, as_of=when)
    except LookupError:
        return AsOf(pd.DataFrame(columns=["date", "value", "flag"]), None,
                    t("revisions.asof.before_first", lang, date=day, oldest=vintages()[0]))
    vintage = snapshots_as_of(SOURCE, when)[-1].date
    df = df.dropna(subset=["value"])[["date", "value", "flag"]]
    if df.empty:
        return AsOf(df, vintage, t("revisions.asof.empty", lang, date=day, vintage=vintage))
    last = df.iloc[-1]
    flags = vocabulary.flags()
    flag = pick(flags[last["flag"]], "label", lang) if last["flag"] in flags else ""
    return AsOf(df, vintage, t("revisions.asof.known", lang, date=day, vintage=vintage, n=str(len(df)),
                               first=month(df["date"].min(), lang), last=month(last["date"], lang),
                               value=number(last["value"], lang, 0), flag=f" ({flag})" if flag else ""))


def _line(frame: pd.DataFrame, name: str, line: dict, lang: str, **extra) -> dict:
    # the hover text is worded here (locale month and number), not by plotly's own formats
    text = [t("revisions.hover", lang, name=name, month=month(d, lang), value=number(v, lang, 0))
            for d, v in zip(frame["date"], frame["value"])]
    return {"type": "scatter", "x": frame["date"], "y": frame["value"], "mode": "lines", "name": name, "line": line,
            "text": text, "hovertemplate": "%{text}<extra></extra>", **extra}


def focus(rev: pd.DataFrame) -> tuple[list, list] | None:
    """x and y ranges on the months the older vintages cover (+1 year), where revisions show."""
    older = rev[rev["vintage"] < rev["vintage"].max()]
    if older.empty:
        return None
    x1 = older["date"].max() + pd.DateOffset(months=12)
    y = rev.loc[rev["date"] <= x1, "value"]  # the as-of series is one of the vintages: no need to add it
    pad = 0.05 * (y.max() - y.min()) or 1
    return [rev["date"].min() - pd.DateOffset(months=1), x1], [y.min() - pad, y.max() + pad]


def figure(rev: pd.DataFrame, view: AsOf, as_of: str, title: str, lang: str = "en") -> dict:
    """One line per vintage (newest solid and dark, older lighter and dotted) over the as-of series,
    highlighted; zoomed to where the vintages overlap (double-click shows everything). The title
    and the source are inside the figure, so a downloaded image keeps them."""
    # On a vintage's own date, "known on 2026-06-27 (2026-06-27 vintage)" said the date twice.
    known = t("revisions.trace.known_at_vintage", lang, date=as_of) if as_of == view.vintage else \
        t("revisions.trace.known", lang, date=as_of, vintage=view.vintage)
    traces = [] if view.frame.empty else [_line(view.frame, known, {"color": HIGHLIGHT_COLOR, "width": 9}, lang,
                                                opacity=0.35)]
    groups = list(rev.groupby("vintage"))  # oldest first: the newest is drawn on top
    for i, (vintage, g) in enumerate(groups):
        color, dash, width = VINTAGE_STYLES[min(len(groups) - 1 - i, len(VINTAGE_STYLES) - 1)]
        traces.append(_line(g, t("revisions.trace.vintage", lang, vintage=vintage),
                            {"color": color, "dash": dash, "width": width}, lang))
    ranges = focus(rev)
    lines = textwrap.wrap(title, TITLE_WIDTH)
    source_text = t("revisions.figure_source", lang, publisher=store.source_short(SOURCE, lang),
                    vintages=", ".join(sorted(rev["vintage"].unique())) or "—")
    if ranges:  # say so: the latest vintage runs on past the zoom, and a reader took it to end there
        source_text += ". " + t("revisions.zoom_note", lang, start=month(rev["date"].min(), lang),
                                end=month(ranges[0][1], lang), last=month(rev["date"].max(), lang))
    source = textwrap.wrap(source_text, SOURCE_WRAP)
    top = 24 + 20 * len(lines) + 14 * len(source)
    fit = title_fit([(title, "<br>".join(lines), 15, None)], (source_text, "<br>".join(source), 10), top=top, top_min=24 + 20 + 14,
                    title_line=20, source_line=14)
    layout = {
        "meta": {"fit": fit},  # re-wrapped to a wider chart by the page (assets/fit_titles.js)
        "title": {"text": "<br>".join(lines), "x": 0.01, "xanchor": "left", "font": {"size": 15},
                  "y": 1, "yref": "container", "yanchor": "top", "pad": {"t": 10},  # from the top: never on the plot
                  "subtitle": {"text": "<br>".join(source), "font": {"size": 10, "color": "#5b6770"}}},
        "height": 400 + top, "hovermode": "x unified",
        "font": {"family": FONT, "size": 12}, "plot_bgcolor": "#fff",
        "separators": SEPARATORS,
        "margin": {"l": 64, "r": 12, "t": top, "b": 40},
        # under the plot, in paper coordinates: plotly grows the bottom margin to fit the legend's rows
        "legend": {"orientation": "h", "traceorder": "reversed", "x": 0, "y": -0.1, "yanchor": "top"},
        "xaxis": {"type": "date", "gridcolor": "#eee", "linecolor": "#999", "range": ranges and ranges[0]},
        "yaxis": {"title": {"text": t("revisions.yaxis", lang)}, "gridcolor": "#eee", "tickformat": ",.0f",
                  "range": ranges and ranges[1]},
        "annotations": [],
    }
    if not traces:
        layout["annotations"].append({"text": t("revisions.figure_empty", lang), "xref": "paper", "yref": "paper",
                                      "showarrow": False})
    return {"data": traces, "layout": layout}


class RevisionsResult(NamedTuple):
    figure: dict
    table: pd.DataFrame
    summary: str
    as_of: AsOf
    notes: list[str]


def build(key: str, geo: str, as_of: str, lang: str = "en") -> RevisionsResult:
    """Everything the page shows for one selection."""
    label = series_keys(lang)[key]
    place = store.geo_name(geo, lang)
    rev = revision_rows(key, geo)
    n = rev["vintage"].nunique()
    notes = []
    if n == 0:
        notes = [t("revisions.note.no_vintage", lang, series=label, geo=place)]
    elif n == 1:
        notes = [t("revisions.note.one_vintage", lang, vintage=rev["vintage"].iloc[0], series=label, geo=place)]
    view = as_of_view(key, geo, as_of, lang)
    fig = figure(rev, view, as_of, t("revisions.figure_title", lang, series=label, geo=place), lang)
    return RevisionsResult(fig, revision_table(rev), summary(rev, lang, as_of), view, notes)
