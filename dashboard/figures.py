"""Pure figure builders: DataFrames in, ``plotly.graph_objects.Figure`` out.

graph_objects, not plotly.express: about ten times cheaper per figure in a hot callback.
"""

from __future__ import annotations

import textwrap
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from etl import vocabulary

PALETTE = ["#1f4e79", "#c0392b", "#16a085", "#8e44ad", "#d35400", "#2c3e50", "#7f8c8d", "#b7950b"]
MILESTONE_COLOR = "rgba(90, 90, 90, 0.45)"
HIGHLIGHT_COLOR = "#d62728"
CHANGEPOINT_COLOR = "#ff7f0e"
FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
# Decimal and thousands marks in every chart, both languages: es-MX writes 34,569.5 as en-US does
# (Babel's, as in the tables and text). Plotly's "es" locale would write 34.569,5.
SEPARATORS = ".,"
# Flags drawn dashed (the number will still move, or is a bound): one rule, from the vocabulary.
DASHED_FLAGS = {k for k, f in vocabulary.flags().items() if f.style == "dash"}
# A short dash: plotly's "dash" (9 px on, 9 off) made a flagged stretch of a few months on a
# phone look like a line with a gap in it.
FLAGGED_DASH = "5px,3px"


@dataclass(frozen=True)
class Line:
    """One drawn series: already selected and transformed."""

    name: str
    frame: pd.DataFrame  # date, value, flag[, unsmoothed]
    color: str
    dash: str = "solid"  # "dot" for predicted values
    hover_unit: str = ""
    period_prefix: str = ""  # "12 months ending " for CDC's rolling sums
    markers: bool = False  # sparse or irregular dates (editions, list copies): each value is a dot


@dataclass(frozen=True)
class FigureText:
    """The words a figure itself carries, in one language (the page passes the reader's)."""

    milestones: str = "Policy milestones"
    cluster: str = "{n} milestones"
    mixed: str = "milestones of several kinds"
    changepoint: str = "Change point"
    changepoints: str = "Detected change points"
    raw: str = "raw"
    flags: tuple[tuple[str, str], ...] = ()     # flag -> label
    categories: tuple[tuple[str, str], ...] = ()  # milestone category -> label
    separators: str = SEPARATORS
    locale: str = "en"

    @classmethod
    def for_lang(cls, lang: str) -> "FigureText":
        from dashboard.i18n import t
        from dashboard.registry import label

        return cls(
            milestones=t("figure.milestones", lang), cluster=t("figure.cluster", lang), mixed=t("figure.mixed", lang),
            changepoint=t("figure.changepoint", lang), changepoints=t("figure.changepoints", lang),
            raw=t("figure.raw", lang),
            flags=tuple((k, label(v, lang)) for k, v in vocabulary.flags().items()),
            categories=tuple((k, label(v, lang)) for k, v in vocabulary.milestone_categories().items()),
            locale=lang,
        )

    def flag(self, flag: str) -> str:
        return dict(self.flags).get(flag, flag)

    def category(self, cat: str) -> str:
        return dict(self.categories).get(cat, cat)


DEFAULT_TEXT = FigureText()
# Characters per line of a chart's title (16 px) and source line (10 px) that fit a phone's chart.
TITLE_WRAP = 40
WHERE_STYLE = "font-size:13px;color:#444"  # the title's second line: the geography
SOURCE_WRAP = 64
PANEL_HEIGHT = 420  # px, every timeline panel
# The part of the plot (paper fractions, bottom to top) that holds the milestone markers, and where
# in it a marker sits: its number goes above it, so about 28 px on a desktop or phone panel.
MARKER_STRIP = (0.88, 1.0)
MARKER_Y = 0.3
LOG_WIDE_RATIO = 8  # largest / smallest value over which a log axis has ticks at 1, 2, 5 only
HIGHLIGHT_LABEL_WIDTH = 32  # characters of a highlighted milestone's name over its line
# A y-axis title runs up the plot, about 220 px of it on a phone: longer ones ran into the legend.
YTITLE_WRAP = 28
LEGEND_WRAP = 40  # characters of a legend entry: plotly does not wrap them


def _segments(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final part and flagged (provisional/FYTD/projected/lower-bound) part; they share the
    joining point."""
    flagged = frame["flag"].isin(DASHED_FLAGS)
    if not flagged.any():
        return frame, frame.iloc[0:0]
    first = int(flagged.to_numpy().argmax())
    # The dashed part starts at the last final point so the line stays connected.
    return frame.iloc[:first], frame.iloc[max(first - 1, 0):]


def _hover(line: Line, note: str = "") -> str:
    return (
        f"<b>{line.name}</b>{note}<br>{line.period_prefix}%{{x|%b %Y}}: "
        f"%{{y:,.4~g}} {line.hover_unit}<extra></extra>"
    )


def line_traces(line: Line, text: FigureText = DEFAULT_TEXT) -> list[dict]:
    """Traces for one series: solid where final, dashed where flagged (one rule for every flag
    the vocabulary draws dashed), faint raw values under a rolling mean."""
    has_value = line.frame["value"].notna().to_numpy()
    frame = line.frame if has_value.all() else line.frame[has_value]  # pandas' dropna costs 0.5 ms a call
    traces = []
    if "unsmoothed" in line.frame:
        traces.append({
            "type": "scatter", "x": line.frame["date"], "y": line.frame["unsmoothed"], "mode": "lines",
            "name": f"{line.name} ({text.raw})", "line": {"color": line.color, "width": 1}, "opacity": 0.3,
            "hovertemplate": _hover(line, f" ({text.raw})"), "legendgroup": line.name, "showlegend": False,
        })
    solid, dashed = _segments(frame)
    if len(solid):
        traces.append({
            "type": "scatter", "x": solid["date"], "y": solid["value"], "mode": "lines+markers" if line.markers else "lines",
            "name": line.name,
            "legendgroup": line.name, "line": {"color": line.color, "width": 2, "dash": line.dash},
            "hovertemplate": _hover(line),
        })
    if len(dashed):
        flag = dashed["flag"].dropna().iloc[-1] if dashed["flag"].notna().any() else "provisional"
        traces.append({
            "type": "scatter", "x": dashed["date"], "y": dashed["value"], "mode": "lines+markers" if line.markers else "lines",
            "name": f"{line.name} ({text.flag(flag)})", "legendgroup": line.name, "showlegend": not len(solid),
            "line": {"color": line.color, "width": 2, "dash": FLAGGED_DASH if line.dash == "solid" else "dashdot"},
            "hovertemplate": _hover(line, f" <i>({text.flag(flag)})</i>"),
        })
    return traces


def drawn_flags(lines: list[Line]) -> set[str]:
    """Flags of the points a chart draws: a per-100k view drops the months without a population
    estimate (2025 on), and with them every provisional month, so "provisional" must not be
    explained (in the legend, in the notes) for points that are not there."""
    out: set[str] = set()
    for line in lines:
        f = line.frame
        # On plain arrays: pandas' masked select and unique on the string column cost ~1 ms a line.
        drawn = ~np.isnan(f["value"].to_numpy(dtype=float, na_value=np.nan))
        out.update(x for x in pd.unique(np.asarray(f["flag"].array, dtype=object)[drawn]) if isinstance(x, str))
    return out


def flag_legend(lines: list[Line], text: FigureText = DEFAULT_TEXT) -> list[dict]:
    """Legend-only entries that say what a dashed (flagged) or dotted (predicted) line means."""
    present = {f for f in drawn_flags(lines) if f in DASHED_FLAGS}
    if any(line.dash == "dot" for line in lines):
        present.add("predicted")
    out = []
    for flag in sorted(present):
        out.append({
            "type": "scatter", "x": [None], "y": [None], "mode": "lines", "name": text.flag(flag),
            "line": {"color": "#555", "width": 2, "dash": "dot" if flag == "predicted" else FLAGGED_DASH},
            "hoverinfo": "skip", "legendgroup": f"flag-{flag}", "showlegend": True,
        })
    return out


# Spaces a line must not break at ("EE. UU." is one word to a Spanish reader).
_UNBREAKABLE = ("EE. UU.",)


def log_ticks(lines: list[Line]) -> dict:
    """Tick settings of a log axis. Every tick is labelled in full ("20, 30", not plotly's "2, 3"
    between powers of ten). Over more than about a decade, ticks go at 1, 2 and 5 times each power
    of ten: plotly's every digit then crowded "100k 90k 80k…" into a phone's plot."""
    values = np.concatenate([line.frame["value"].to_numpy(dtype=float) for line in lines] or [np.empty(0)])
    values = values[values > 0]  # NaN compares False: dropped too
    wide = bool(len(values)) and values.max() / values.min() > LOG_WIDE_RATIO
    return {"minorloglabels": "complete", **({"dtick": "D2"} if wide else {})}


def label_anchor(when, x_range: tuple[str, str] | None) -> str:
    """How a label on a vertical line at ``when`` is anchored so that it stays on the chart: it
    runs away from the nearer edge, or centres on the line in the middle third (a label of about
    half a phone's plot fits either way)."""
    if not x_range or not all(x_range):
        return "center"
    lo, hi = pd.Timestamp(x_range[0]), pd.Timestamp(x_range[1])
    share = (pd.Timestamp(when) - lo) / (hi - lo) if hi > lo else 0.5
    return "left" if share < 1 / 3 else "right" if share > 2 / 3 else "center"


def shorten(text: str, width: int) -> str:
    """``text`` cut at a word to at most ``width`` characters, with an ellipsis when cut."""
    return text if len(text) <= width else textwrap.shorten(text, width, placeholder="…")


def wrap(text: str, width: int = 60) -> str:
    """Text in lines of at most ``width`` characters: SVG text (hover, titles) never wraps itself."""
    if not text:
        return ""
    text = str(text)
    for phrase in _UNBREAKABLE:
        text = text.replace(phrase, phrase.replace(" ", "\0"))
    lines = textwrap.wrap(text, width, break_on_hyphens=False, break_long_words=False)
    return "<br>".join(lines).replace("\0", " ")


def title_fit(parts: list[tuple[str, str, int, str | None]], source: tuple[str, str, int], *, top: int,
              top_min: int, title_line: int, source_line: int) -> dict:
    """What assets/fit_titles.js needs to re-wrap a chart's title and source line to the chart's
    own width: each part as (plain, wrapped for a phone, font size, span style), the source the
    same way, and how much top margin a line of each takes (the rule the figure's margin was
    built with), from the ``top`` margin built here, down to ``top_min``. The server wraps for a
    phone, the narrowest chart; on a desktop that left a title in a column of 300 px over a plot
    of 1,100. ``top`` travels with the figure: the margin in the page's copy is the one already
    re-fitted, and fitting from it again took the lines off once more each time."""
    def keep(text):  # one word for the browser too: "EE. UU." never breaks
        for phrase in _UNBREAKABLE:
            text = text.replace(phrase, phrase.replace(" ", "\u00a0"))
        return str(text)

    return {"title": [{"text": keep(plain), "size": size, "style": style, "lines": wrapped.count("<br>") + 1}
                      for plain, wrapped, size, style in parts],
            "source": {"text": keep(source[0]), "size": source[2], "lines": source[1].count("<br>") + 1},
            "top": top, "top_min": top_min, "title_line": title_line, "source_line": source_line}


def milestone_numbers(milestones: pd.DataFrame) -> dict[str, int]:
    """Milestone id -> its number on the charts and in the key: 1 for the earliest."""
    ordered = milestones.sort_values(["date", "id"])
    return {mid: i for i, mid in enumerate(ordered["id"], start=1)}


def cluster_milestones(dates: list[pd.Timestamp], x_range: tuple[str, str] | None, share: float = 0.02) -> list[list[int]]:
    """Indices of milestones grouped when closer than ``share`` of the visible range (about
    16 px on a desktop chart, 6 on a phone): zooming in narrows the range and splits the group."""
    if not dates:
        return []
    order = sorted(range(len(dates)), key=lambda i: dates[i])
    if x_range and x_range[0] and x_range[1]:
        span = (pd.Timestamp(x_range[1]) - pd.Timestamp(x_range[0])).days or 1
    else:
        span = (max(dates) - min(dates)).days or 1
    gap = pd.Timedelta(days=span * share)
    groups, current = [], [order[0]]
    for i in order[1:]:
        if dates[i] - dates[current[-1]] <= gap:
            current.append(i)
        else:
            groups.append(current)
            current = [i]
    groups.append(current)
    return groups


def milestone_layer(milestones: pd.DataFrame, *, highlight: str = "", lang: str = "en",
                    x_range: tuple[str, str] | None = None, numbers: dict[str, int] | None = None,
                    text: FigureText = DEFAULT_TEXT) -> tuple[list, list, list]:
    """Vertical lines (shapes cannot hover), numbered markers coloured by category along the
    top that do (close ones clustered, with a count), and a label over the highlighted
    milestone. Returns (traces, shapes, annotations)."""
    if milestones.empty:
        return [], [], []
    title_col = "title_es" if lang == "es" else "title_en"
    desc_col = "description_es" if lang == "es" and "description_es" in milestones else "description_en"
    numbers = numbers or milestone_numbers(milestones)
    rows = tuple(zip(milestones["id"], milestones["date"], milestones[title_col], milestones[desc_col],
                     milestones["source_url"], milestones["category"]))
    traces, shapes, annotations = _milestone_layer(rows, highlight, tuple(x_range or ()),
                                                   tuple(sorted(numbers.items())), text)
    # Copies of the containers: callers append to them; the cached dicts inside stay shared.
    return list(traces), list(shapes), list(annotations)


@lru_cache(maxsize=64)
def _milestone_layer(rows: tuple, highlight: str, x_range: tuple, numbers: tuple,
                     text: FigureText) -> tuple[tuple, tuple, tuple]:
    """Cached: the panels of a view, and most views, share the same milestone layer."""
    numbers = dict(numbers)
    shapes, annotations = [], []
    for mid, when, title, _desc, _url, cat in rows:
        hl = mid == highlight
        shapes.append({
            "type": "line", "x0": when, "x1": when, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
            "line": {"color": HIGHLIGHT_COLOR if hl else _category_color(cat, 0.45), "width": 3 if hl else 1,
                     "dash": "solid" if hl else "dot"},
            "layer": "below",
        })
        if hl:
            # Shortened, and kept on the chart: a phone's plot is about 300 px wide, and a long name
            # ("Detienen en Los Ángeles al exsecretario de Defensa Cienfuegos") ran off it. The
            # full name is in the milestone key and on hover.
            annotations.append({
                "x": when, "y": 1.0, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                "xanchor": label_anchor(when, x_range or None),
                "text": f"<b>{numbers.get(mid, '')} · {shorten(title, HIGHLIGHT_LABEL_WIDTH)}</b>",
                "font": {"color": HIGHLIGHT_COLOR, "size": 11},
                "bgcolor": "rgba(255,255,255,0.85)",
            })
    groups = cluster_milestones([pd.Timestamp(r[1]) for r in rows], x_range or None)
    by_cat: dict[str, list] = {}
    for g in groups:
        members = [rows[i] for i in g]
        cats = {m[5] for m in members}
        cat = cats.pop() if len(cats) == 1 else "mixed"
        by_cat.setdefault(cat, []).append(members)
    traces = []
    for cat, clusters in sorted(by_cat.items()):
        xs, labels, hovers, sizes, colors = [], [], [], [], []
        for members in clusters:
            when = min(pd.Timestamp(m[1]) for m in members)
            xs.append(when)
            if len(members) == 1:
                mid, mdate, title, desc, url, _c = members[0]
                labels.append(str(numbers.get(mid, "")))
                hovers.append(f"<b>{numbers.get(mid, '')} · {wrap(title, 50)}</b><br>{pd.Timestamp(mdate):%Y-%m-%d}"
                              f"<br>{wrap(desc)}<br><i>{wrap(url, 60)}</i>")
            else:
                labels.append(text.cluster.format(n=len(members)).split(" ")[0] + "+")
                hovers.append("<br>".join(
                    [f"<b>{text.cluster.format(n=len(members))}</b>"] +
                    [f"{numbers.get(m[0], '')} · {pd.Timestamp(m[1]):%Y-%m-%d} {wrap(m[2], 50)}" for m in members]))
            hl = any(m[0] == highlight for m in members)
            sizes.append(14 if hl else 11)
            colors.append(HIGHLIGHT_COLOR if hl else _category_color(cat, 1.0))
        traces.append({
            "type": "scatter", "x": xs, "y": [MARKER_Y] * len(xs), "yaxis": "y2", "mode": "markers+text",
            # not clipped: on a phone the strip is shorter than a marker and its number
            "cliponaxis": False, "text": labels, "textposition": "top center", "textfont": {"size": 9, "color": "#333"},
            "marker": {"symbol": "triangle-down", "size": sizes, "color": colors},
            "name": text.category(cat) if cat != "mixed" else text.mixed,
            "showlegend": True, "hovertext": hovers, "hoverinfo": "text",
            "hoverlabel": {"align": "left", "bgcolor": "#fff", "font": {"size": 11}},
        })
    return tuple(traces), tuple(shapes), tuple(annotations)


def _category_color(cat: str, alpha: float) -> str:
    terms = vocabulary.milestone_categories()
    hexa = terms[cat].color if cat in terms and terms[cat].color else "#555555"
    r, g, b = (int(hexa[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({r}, {g}, {b}, {alpha})"


def changepoint_trace(dates: list[pd.Timestamp], labels: list[str], of: str = "",
                      text: FigureText = DEFAULT_TEXT) -> dict:
    """Diamonds at the foot of the chart for the change points detected in the line named ``of``
    (named in the legend: on a chart of two lines, the reader could not tell whose they were)."""
    return {
        "type": "scatter", "x": dates, "y": [0.03] * len(dates), "yaxis": "y3", "mode": "markers",
        # wrapped: "Detected change points: Homicide victims (SESNSP, prosecutors' files)" ran off a phone
        "name": wrap(f"{text.changepoints}: {of}", LEGEND_WRAP) if of else text.changepoints,
        "text": [wrap(x) for x in labels],
        "marker": {"symbol": "diamond", "size": 11, "color": CHANGEPOINT_COLOR, "line": {"width": 1, "color": "#fff"}},
        "hovertemplate": f"<b>{text.changepoint}</b> %{{x|%b %Y}}<br>%{{text}}<extra></extra>",
    }


def milestone_key(milestones: pd.DataFrame, numbers: dict[str, int], lang: str, per_line: int = 3) -> str:
    """The numbered milestone key as figure text (<br>-separated lines), for exported images:
    an image that leaves the page keeps what its numbers mean."""
    if milestones.empty:
        return ""
    title_col = "title_es" if lang == "es" and "title_es" in milestones else "title_en"
    numbers = numbers or milestone_numbers(milestones)
    items = [f"{numbers.get(m, '')} {pd.Timestamp(d):%Y-%m} {textwrap.shorten(str(t), 44, placeholder='…')}"
             for m, d, t in sorted(zip(milestones["id"], milestones["date"], milestones[title_col]),
                                   key=lambda r: (numbers.get(r[0], 0), r[0]))]
    return "<br>".join(" · ".join(items[i:i + per_line]) for i in range(0, len(items), per_line))


def timeline_spec(
    lines: list[Line],
    milestones: pd.DataFrame,
    *,
    title: str,
    y_label: str,
    x_range: tuple[str, str] | None = None,
    log: bool = False,
    highlight: str = "",
    lang: str = "en",
    changepoints: tuple[list, list, str] | None = None,
    message: str = "",
    source_note: str = "",
    breaks: list[tuple[str, str]] | None = None,
    numbers: dict[str, int] | None = None,
    text: FigureText = DEFAULT_TEXT,
) -> dict:
    """One panel of the shared timeline as a plain figure dict: its series, the milestones,
    series breaks, optional change points.

    The callback sends this dict as it is: building a validated ``go.Figure`` costs about
    40 ms per panel, more than everything else in the callback together."""
    data = [t for line in lines for t in line_traces(line, text)]
    data += flag_legend(lines, text)
    ms_traces, shapes, annotations = milestone_layer(milestones, highlight=highlight, lang=lang, x_range=x_range,
                                                     numbers=numbers, text=text)
    data += ms_traces
    for when, label in breaks or []:
        shapes.append({"type": "line", "x0": when, "x1": when, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
                       "line": {"color": "#444", "width": 2, "dash": "longdash"}, "layer": "above"})
        # From a break late in the range, a left-anchored label ran off the chart.
        annotations.append({"x": when, "y": 0.02, "xref": "x", "yref": "paper",
                            "xanchor": "right" if label_anchor(when, x_range) == "right" else "left",
                            "yanchor": "bottom", "showarrow": False, "text": f"⟂ {label}",
                            "font": {"size": 10, "color": "#444"}, "bgcolor": "rgba(255,255,255,0.8)"})
    if changepoints and changepoints[0]:
        data.append(changepoint_trace(*changepoints, text=text))
    if message:
        annotations.append({"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                            "showarrow": False, "font": {"size": 14, "color": "#666"}})
    # SVG titles do not wrap: a long one ran off a phone's 390 px chart ("…Mexico-linked narcotic").
    plain_name, sep, where = title.partition(" — ")
    name = wrap(plain_name, TITLE_WRAP)
    shown_title = f"{name}<br><span style='{WHERE_STYLE}'>{where}</span>" if sep else name
    plain_source, source_note = source_note, wrap(source_note, SOURCE_WRAP)
    # plotly's title automargin pushes a title of more than two lines off the top of the figure:
    # then the top margin is set here instead, one title line (20 px) or source line (12 px) more.
    extra_title = shown_title.count("<br>") - 1
    extra_source = source_note.count("<br>")
    title_fits = extra_title <= 0
    top = 96 if title_fits else 96 + 20 * extra_title + 12 * extra_source
    layout = {
        # The source is the title's subtitle: in the figure itself, so an exported image still says
        # where the numbers come from, and never in the way of the legend.
        "title": {"text": shown_title, "x": 0.01, "xanchor": "left", "font": {"size": 16}, "automargin": title_fits,
                  "yref": "container", "y": 0.97, "yanchor": "top",
                  "subtitle": {"text": source_note, "font": {"size": 10, "color": "#666"}}},
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "separators": text.separators,
        "margin": {"l": 70, "r": 20, "t": top, "b": 64},
        "height": PANEL_HEIGHT,
        "hovermode": "closest",
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "legend": {"orientation": "h", "yref": "container", "y": 0.0, "yanchor": "bottom", "x": 0,
                   "font": {"size": 11}},
        "xaxis": {"type": "date", "automargin": True, "range": list(x_range) if x_range else None, "showgrid": True,
                  "gridcolor": "#eee", "linecolor": "#999"},
        "yaxis": {"title": {"text": wrap(y_label, YTITLE_WRAP)}, "type": "log" if log else "linear", "gridcolor": "#eee",
                  "rangemode": None if log else "tozero", "tickformat": ",~g", "automargin": True,
                  "domain": [0, MARKER_STRIP[0]], **(log_ticks(lines) if log else {})},
        # The milestone markers have a strip of their own above the data: drawn over the plot, they
        # hid the top of any line that reached it (homicides at 3,000, overdoses at their peak).
        "yaxis2": {"domain": list(MARKER_STRIP), "range": [0, 1], "visible": False, "fixedrange": True},
        # The change points sit at the foot of the data's own domain.
        "yaxis3": {"overlaying": "y", "range": [0, 1], "visible": False, "fixedrange": True},
        "shapes": shapes,
        "annotations": annotations,
        "uirevision": "timeline",
        # Read by the page's PNG/SVG buttons (assets/sync.js), which add it under the exported chart.
        "meta": {"milestone_key": milestone_key(milestones, numbers or {}, lang) if not milestones.empty else "",
                 "fit": title_fit([(plain_name, name, 16, None)] + ([(where, where, 13, WHERE_STYLE)] if sep else []),
                                  (plain_source, source_note, 10), top=top, top_min=96, title_line=20,
                                  source_line=12)},
    }
    return {"data": data, "layout": layout}


def timeline_panel(lines: list[Line], milestones: pd.DataFrame, **kwargs) -> go.Figure:
    """The same panel as a validated ``go.Figure`` (notebooks, image export)."""
    return go.Figure(timeline_spec(lines, milestones, **kwargs))


def choropleth(
    frame: pd.DataFrame,
    geojson: dict,
    *,
    featureidkey: str,
    title: str,
    colorbar_title: str,
    hover_name: pd.Series,
    center: dict,
    zoom: float,
) -> go.Figure:
    """States shaded by value; ``frame`` has columns location (matching featureidkey), value.

    A MapLibre map on a blank style: no tiles, tokens or topojson are fetched at run time."""
    fig = go.Figure(go.Choroplethmap(
        geojson=geojson, locations=frame["location"], z=frame["value"], featureidkey=featureidkey,
        colorscale="YlOrRd", marker_line_color="#fff", marker_line_width=0.6,
        colorbar={"title": {"text": colorbar_title}}, text=hover_name,
        hovertemplate="<b>%{text}</b><br>%{z:,.1f}<extra></extra>",
    ))
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 15}}, font={"family": FONT}, separators=SEPARATORS,
                      map={"style": "white-bg", "center": center, "zoom": zoom},
                      margin={"l": 0, "r": 0, "t": 40, "b": 0}, height=440)
    return fig


def empty(message: str, height: int = 330) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
    fig.update_layout(height=height, xaxis={"visible": False}, yaxis={"visible": False}, plot_bgcolor="#fff")
    return fig
