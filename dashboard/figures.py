"""Pure figure builders: DataFrames in, ``plotly.graph_objects.Figure`` out.

graph_objects, not plotly.express: about ten times cheaper per figure in a hot callback.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import pandas as pd
import plotly.graph_objects as go

PALETTE = ["#1f4e79", "#c0392b", "#16a085", "#8e44ad", "#d35400", "#2c3e50", "#7f8c8d", "#b7950b"]
MILESTONE_COLOR = "rgba(90, 90, 90, 0.45)"
HIGHLIGHT_COLOR = "#d62728"
CHANGEPOINT_COLOR = "#ff7f0e"
FONT = "Inter, 'Segoe UI', Roboto, Helvetica, Arial, sans-serif"
# Flags drawn dashed: the number will still move.
DASHED_FLAGS = {"provisional", "fytd", "projected"}


@dataclass(frozen=True)
class Line:
    """One drawn series: already selected and transformed."""

    name: str
    frame: pd.DataFrame  # date, value, flag[, unsmoothed]
    color: str
    dash: str = "solid"  # "dot" for predicted values
    hover_unit: str = ""
    period_prefix: str = ""  # "12 months ending " for CDC's rolling sums


def _segments(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Final part and flagged (provisional/FYTD) part; they share the joining point."""
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


def line_traces(line: Line) -> list[dict]:
    """Traces for one series: solid where final, dashed where provisional/FYTD, faint raw
    values under a rolling mean."""
    frame = line.frame.dropna(subset=["value"])
    traces = []
    if "unsmoothed" in line.frame:
        traces.append({
            "type": "scatter", "x": line.frame["date"], "y": line.frame["unsmoothed"], "mode": "lines",
            "name": f"{line.name} (raw)", "line": {"color": line.color, "width": 1}, "opacity": 0.3,
            "hovertemplate": _hover(line, " (raw)"), "legendgroup": line.name, "showlegend": False,
        })
    solid, dashed = _segments(frame)
    if len(solid):
        traces.append({
            "type": "scatter", "x": solid["date"], "y": solid["value"], "mode": "lines", "name": line.name,
            "legendgroup": line.name, "line": {"color": line.color, "width": 2, "dash": line.dash},
            "hovertemplate": _hover(line),
        })
    if len(dashed):
        flag = dashed["flag"].dropna().iloc[-1] if dashed["flag"].notna().any() else "provisional"
        traces.append({
            "type": "scatter", "x": dashed["date"], "y": dashed["value"], "mode": "lines",
            "name": f"{line.name} ({flag})", "legendgroup": line.name, "showlegend": not len(solid),
            "line": {"color": line.color, "width": 2, "dash": "dash" if line.dash == "solid" else "dashdot"},
            "hovertemplate": _hover(line, f" <i>({flag})</i>"),
        })
    return traces


def milestone_layer(milestones: pd.DataFrame, *, highlight: str = "", lang: str = "en") -> tuple[list, list, list]:
    """Vertical lines (shapes cannot hover), a marker trace along the top that does, and a
    label over the highlighted milestone. Returns (traces, shapes, annotations)."""
    if milestones.empty:
        return [], [], []
    title_col = "title_es" if lang == "es" else "title_en"
    rows = tuple(zip(milestones["id"], milestones["date"], milestones[title_col], milestones["description_en"],
                     milestones["source_url"]))
    traces, shapes, annotations = _milestone_layer(rows, highlight)
    # Copies of the containers: callers append to them; the cached dicts inside stay shared.
    return list(traces), list(shapes), list(annotations)


@lru_cache(maxsize=64)
def _milestone_layer(rows: tuple, highlight: str) -> tuple[tuple, tuple, tuple]:
    """Cached: the three panels of a view, and most views, share the same milestone layer."""
    shapes, annotations = [], []
    for mid, when, title, _desc, _url in rows:
        hl = mid == highlight
        shapes.append({
            "type": "line", "x0": when, "x1": when, "y0": 0, "y1": 1, "xref": "x", "yref": "paper",
            "line": {"color": HIGHLIGHT_COLOR if hl else MILESTONE_COLOR, "width": 3 if hl else 1,
                     "dash": "solid" if hl else "dot"},
            "layer": "below",
        })
        if hl:
            annotations.append({
                "x": when, "y": 1.0, "xref": "x", "yref": "paper", "yanchor": "bottom", "showarrow": False,
                "text": f"<b>{title}</b>", "font": {"color": HIGHLIGHT_COLOR, "size": 11},
                "bgcolor": "rgba(255,255,255,0.85)",
            })
    ids = [r[0] for r in rows]
    trace = {
        "type": "scatter", "x": [r[1] for r in rows], "y": [1.0] * len(rows), "yaxis": "y2", "mode": "markers",
        "marker": {"symbol": "triangle-down", "size": [13 if i == highlight else 9 for i in ids],
                   "color": [HIGHLIGHT_COLOR if i == highlight else "#555" for i in ids]},
        "name": "Policy milestones", "legendgroup": "milestones", "showlegend": False,
        "customdata": [[r[2], r[3], r[4], r[0]] for r in rows],
        "hovertemplate": "<b>%{customdata[0]}</b><br>%{x|%d %b %Y}<br>%{customdata[1]}"
                         "<br><i>%{customdata[2]}</i><extra></extra>",
    }
    return (trace,), tuple(shapes), tuple(annotations)


def changepoint_trace(dates: list[pd.Timestamp], labels: list[str]) -> dict:
    return {
        "type": "scatter", "x": dates, "y": [0.03] * len(dates), "yaxis": "y2", "mode": "markers",
        "name": "Detected change points", "text": labels,
        "marker": {"symbol": "diamond", "size": 11, "color": CHANGEPOINT_COLOR, "line": {"width": 1, "color": "#fff"}},
        "hovertemplate": "<b>Change point</b> %{x|%b %Y}<br>%{text}<extra></extra>",
    }


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
    changepoints: tuple[list, list] | None = None,
    message: str = "",
    source_note: str = "",
) -> dict:
    """One panel of the shared timeline as a plain figure dict: its series, the milestones,
    optional change points.

    The callback sends this dict as it is: building a validated ``go.Figure`` costs about
    40 ms per panel, more than everything else in the callback together."""
    data = [t for line in lines for t in line_traces(line)]
    ms_traces, shapes, annotations = milestone_layer(milestones, highlight=highlight, lang=lang)
    data += ms_traces
    if changepoints and changepoints[0]:
        data.append(changepoint_trace(*changepoints))
    if message:
        annotations.append({"text": message, "xref": "paper", "yref": "paper", "x": 0.5, "y": 0.5,
                            "showarrow": False, "font": {"size": 14, "color": "#666"}})
    if source_note:  # in the figure itself, so an exported PNG still says where the numbers come from
        annotations.append({"text": source_note, "xref": "paper", "yref": "paper", "x": 1, "y": 1, "yshift": 30,
                            "xanchor": "right", "yanchor": "bottom", "showarrow": False,
                            "font": {"size": 10, "color": "#777"}})
    layout = {
        "title": {"text": title, "x": 0.01, "xanchor": "left", "font": {"size": 16}},
        "font": {"family": FONT, "size": 12, "color": "#222"},
        "margin": {"l": 70, "r": 20, "t": 48, "b": 64},
        "height": 350,
        "hovermode": "closest",
        "plot_bgcolor": "#fff",
        "paper_bgcolor": "#fff",
        "legend": {"orientation": "h", "yref": "container", "y": 0.01, "yanchor": "bottom", "x": 0, "font": {"size": 11}},
        "xaxis": {"type": "date", "automargin": True, "range": list(x_range) if x_range else None, "showgrid": True,
                  "gridcolor": "#eee", "linecolor": "#999"},
        "yaxis": {"title": {"text": y_label}, "type": "log" if log else "linear", "gridcolor": "#eee",
                  "rangemode": None if log else "tozero", "tickformat": None if log else ",~g"},
        "yaxis2": {"overlaying": "y", "range": [0, 1.04], "visible": False, "fixedrange": True},
        "shapes": shapes,
        "annotations": annotations,
        "uirevision": "timeline",
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
    fig.update_layout(title={"text": title, "x": 0.01, "font": {"size": 15}}, font={"family": FONT},
                      map={"style": "white-bg", "center": center, "zoom": zoom},
                      margin={"l": 0, "r": 0, "t": 40, "b": 0}, height=440)
    return fig


def empty(message: str, height: int = 330) -> go.Figure:
    fig = go.Figure()
    fig.add_annotation(text=message, xref="paper", yref="paper", x=0.5, y=0.5, showarrow=False)
    fig.update_layout(height=height, xaxis={"visible": False}, yaxis={"visible": False}, plot_bgcolor="#fff")
    return fig
