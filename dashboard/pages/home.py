"""Timeline: deaths, homicides and seizures on one milestone-annotated time axis."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlencode

import dash
import flask
import pandas as pd
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html

from dashboard import cite, components, store, views
from dashboard.state import (
    DEATH_CLASSES, DEFAULT, MILESTONE_CATEGORIES, SEIZURE_DRUGS, Parsed, ViewState, parse_query, to_query,
)

dash.register_page(__name__, path="/", name="Timeline", title="Cross-border timeline")

PANEL_KEYS = ("deaths", "homicides", "seizures")
# Control id -> (ViewState field, component property). Multi-value checklists map to tuples.
CONTROLS = {
    "us-geo": "us_geo", "mx-geo": "mx_geo", "cbp-geo": "cbp_geo", "drugs": "drugs", "predicted": "predicted",
    "mx-sources": "mx_sources", "firearm": "firearm", "seize": "seize", "measure": "measure",
    "component": "component", "start": "start", "end": "end", "transform": "transform", "index-at": "index_at",
    "rolling": "rolling", "log": "log", "cats": "cats", "hl": "hl", "changepoints": "changepoints", "lang": "lang",
}
FLAG_CONTROLS = {"predicted", "firearm", "log", "changepoints"}  # one-item checklists


def parse_controls(values: dict) -> Parsed:
    """Control values -> ViewState, through the same validation as a URL: a typo in a free-text
    date or an emptied list falls back to the default with a notice."""
    query = {}
    for cid, name in CONTROLS.items():
        v = values[cid]
        if name in FLAG_CONTROLS:
            v = "1" if v else "0"
        elif isinstance(getattr(DEFAULT, name), tuple):
            v = ",".join(v or ())
        query[name] = "" if v is None else str(v)
    return parse_query(urlencode(query), store.valid_geos(), set(store.milestones()["id"]))


def state_from_controls(values: dict) -> ViewState:
    return parse_controls(values).state


def control_values(s: ViewState) -> dict:
    """The inverse of ``state_from_controls``: what each control holds for a view."""
    values = {}
    for cid, name in CONTROLS.items():
        v = getattr(s, name)
        values[cid] = (["on"] if v else []) if name in FLAG_CONTROLS else list(v) if isinstance(v, tuple) else v
    return values


def _flag(name: str, label: str, on: bool) -> dcc.Checklist:
    return dcc.Checklist(id=name, options=[{"label": f" {label}", "value": "on"}], value=["on"] if on else [],
                         className="check")


def _labelled(label: str, control) -> html.Div:
    return html.Div([html.Label(label, className="ctl-label"), control], className="ctl")


def controls(s: ViewState) -> html.Div:
    geos = store.geo_options()
    ms = store.milestones()
    index_options = [{"label": f"{m.date:%Y-%m} · {m.title_en}", "value": m.id} for m in ms.itertuples()]
    index_options += [{"label": f"{y}-01", "value": f"{y}-01-01"} for y in range(2015, 2026)]
    if s.index_at not in {o["value"] for o in index_options}:
        index_options.append({"label": s.index_at, "value": s.index_at})
    opts = lambda pairs: [{"label": n, "value": c} for c, n in pairs]  # noqa: E731
    return html.Div([
        html.Fieldset([
            html.Legend("US overdose deaths"),
            _labelled("Geography", dcc.Dropdown(id="us-geo", options=opts(geos["us"]), value=s.us_geo, clearable=False)),
            _labelled("Drug classes", dcc.Dropdown(id="drugs", multi=True, value=list(s.drugs),
                      options=[{"label": views.DEATH_LABELS[d], "value": d} for d in DEATH_CLASSES])),
            _flag("predicted", "Also show CDC predicted values (dotted)", s.predicted),
        ]),
        html.Fieldset([
            html.Legend("Mexico homicides"),
            _labelled("Geography", dcc.Dropdown(id="mx-geo", options=opts(geos["mx"]), value=s.mx_geo, clearable=False)),
            dcc.Checklist(id="mx-sources", value=list(s.mx_sources), className="check",
                          options=[{"label": " SESNSP victims", "value": "sesnsp"},
                                   {"label": " INEGI death certificates", "value": "inegi"}]),
            _flag("firearm", "Firearm homicides (SESNSP)", s.firearm),
        ]),
        html.Fieldset([
            html.Legend("US border seizures (CBP)"),
            _labelled("Area", dcc.Dropdown(id="cbp-geo", options=opts(geos["cbp"]), value=s.cbp_geo, clearable=False)),
            _labelled("Drugs", dcc.Dropdown(id="seize", multi=True, value=list(s.seize),
                      options=[{"label": views.SEIZURE_LABELS[d], "value": d} for d in SEIZURE_DRUGS])),
            dcc.RadioItems(id="measure", value=s.measure, inline=True, className="radio",
                           options=[{"label": " Pounds", "value": "lbs"}, {"label": " Events", "value": "events"}]),
            dcc.RadioItems(id="component", value=s.component, inline=True, className="radio",
                           options=[{"label": " All", "value": "all"}, {"label": " Ports (OFO)", "value": "ofo"},
                                    {"label": " Border Patrol", "value": "usbp"}]),
        ]),
        html.Fieldset([
            html.Legend("View"),
            _labelled("From", dcc.Input(id="start", type="text", value=s.start, debounce=True, pattern=r"\d{4}-\d{2}-\d{2}")),
            _labelled("To (blank = latest)", dcc.Input(id="end", type="text", value=s.end, debounce=True,
                                                        placeholder="YYYY-MM-DD")),
            _labelled("Transform", dcc.RadioItems(id="transform", value=s.transform, className="radio", options=[
                {"label": " Counts", "value": "counts"}, {"label": " Per 100k residents", "value": "per100k"},
                {"label": " Index = 100 at…", "value": "index"}, {"label": " Year-over-year %", "value": "yoy"}])),
            _labelled("Index date or milestone", dcc.Dropdown(id="index-at", options=index_options, value=s.index_at,
                                                               clearable=False)),
            _labelled("Rolling mean", dcc.Dropdown(id="rolling", value=s.rolling, clearable=False, options=[
                {"label": "None", "value": 0}, {"label": "3 months", "value": 3},
                {"label": "6 months", "value": 6}, {"label": "12 months", "value": 12}])),
            _flag("log", "Log scale", s.log),
            _flag("changepoints", "Mark detected change points", s.changepoints),
        ]),
        html.Fieldset([
            html.Legend("Milestones"),
            dcc.Checklist(id="cats", value=list(s.cats), className="check cats",
                          options=[{"label": f" {c}", "value": c} for c in MILESTONE_CATEGORIES]),
            dcc.RadioItems(id="lang", value=s.lang, inline=True, className="radio", options=[
                {"label": " English titles", "value": "en"}, {"label": " Títulos en español", "value": "es"}]),
            _labelled("Highlight", dcc.Dropdown(id="hl", value=s.hl or None, placeholder="none",
                      options=[{"label": f"{m.date:%Y-%m-%d} {m.title_en}", "value": m.id} for m in ms.itertuples()])),
        ]),
    ], className="controls")


def layout(**query) -> html.Div:
    parsed = parse_query(urlencode(query), store.valid_geos(), set(store.milestones()["id"]))
    s = parsed.state
    v = render_view(s, [])
    return html.Div([
        dcc.Store(id="view-query", data=v[("view-query", "data")]),
        html.Div(id="url-notices", children=components.notices(
            parsed.notices + ([store.milestones_error()] if store.milestones_error() else []), "warning")),
        html.Div(id="control-notices", children=v[("control-notices", "children")]),
        html.Div([
            html.Aside(controls(s), className="sidebar"),
            html.Section([
                html.P("Overdose deaths in the US, homicides in Mexico and drug seizures at the US border, on one "
                       "time axis with the milestones of US–Mexico security cooperation. Zoom one chart and the "
                       "others follow; hover a ▼ for the milestone and its source.", className="lede"),
                *[html.Div([
                    dcc.Graph(id=f"fig-{k}", figure=v[(f"fig-{k}", "figure")], config={"displaylogo": False, "toImageButtonOptions": {
                        "format": "png", "filename": f"xborder-{k}", "scale": 2}}),
                    html.Div(id=f"notes-{k}", className="panel-notes", children=v[(f"notes-{k}", "children")]),
                    html.Div(id=f"prov-{k}", children=v[(f"prov-{k}", "children")]),
                ], className="panel") for k in PANEL_KEYS],
                html.Div([
                    html.Button("Download CSV", id="dl-csv", className="btn"),
                    html.Button("Download Parquet", id="dl-parquet", className="btn"),
                    html.Span(id="data-version", className="version", children=v[("data-version", "children")]),
                    dcc.Download(id="download"),
                ], className="downloads"),
                html.Details([html.Summary("Table of the displayed series"), html.Div(id="change-table", children=v[("change-table", "children")])],
                             open=False, className="table-view"),
                html.Details([html.Summary("Cite this view"), html.Div(id="cite-view", children=v[("cite-view", "children")])],
                             open=False, className="table-view"),
                html.H3("Milestones"),
                html.Div(id="ms-list", children=v[("ms-list", "children")]),
            ], className="content"),
        ], className="layout"),
    ])


_CONTROL_INPUTS = [Input(cid, "value") for cid in CONTROLS]


def _values(args) -> dict:
    return dict(zip(CONTROLS, args))


def render_panel(panel: views.Panel, s: ViewState, x_range) -> tuple:
    """One panel's figure, notes and provenance."""
    fig, notes = views.panel_figure(panel, s, x_range)
    summary = html.P(views.text_summary(panel), className="chart-summary", role="note")
    return fig, [summary, components.notices(notes)], components.provenance_line(panel.sources)


# Everything the timeline callback renders, in output order. The page layout renders the same
# dict for the URL's view, so the first charts arrive with the page, without a callback round trip.
OUTPUTS = [
    *[(f"fig-{k}", "figure") for k in PANEL_KEYS],
    *[(f"notes-{k}", "children") for k in PANEL_KEYS],
    *[(f"prov-{k}", "children") for k in PANEL_KEYS],
    ("change-table", "children"), ("ms-list", "children"), ("view-query", "data"),
    ("data-version", "children"), ("cite-view", "children"), ("control-notices", "children"),
]


@lru_cache(maxsize=32)
def _milestone_list(cats: tuple[str, ...], hl: str, lang: str, _token: int) -> html.Ul:
    return components.milestone_list(store.milestones(), cats, hl, lang)


def render_view(s: ViewState, notices: list[str]) -> dict[tuple[str, str], object]:
    panels = views.build_panels(s)
    x_range = views.x_range(s, panels)
    out = {}
    for k, panel in zip(PANEL_KEYS, panels):
        out[(f"fig-{k}", "figure")], out[(f"notes-{k}", "children")], out[(f"prov-{k}", "children")] = \
            render_panel(panel, s, x_range)
    query = to_query(s)
    sources = [sid for p in panels for sid in p.sources]
    version = store.data_version(sources)
    out[("change-table", "children")] = _table(views.change_table(panels))
    out[("ms-list", "children")] = _milestone_list(s.cats, s.hl, s.lang, store.milestones_token())
    out[("view-query", "data")] = query
    out[("data-version", "children")] = f"data version {version} · updated {store.last_updated(sources)}"
    out[("cite-view", "children")] = components.cite_block(cite.citation(s, panels, _base_url()), cite.snippet(query))
    out[("control-notices", "children")] = components.notices(notices, "warning")
    return out


@callback(*[Output(i, p) for i, p in OUTPUTS], *_CONTROL_INPUTS, prevent_initial_call=True)
def update_timeline(*args):
    parsed = parse_controls(_values(args))
    view = render_view(parsed.state, parsed.notices)
    return tuple(view[o] for o in OUTPUTS)


def _base_url() -> str:
    try:
        return flask.request.host_url.rstrip("/")
    except RuntimeError:  # called outside a request (tests, benchmarks)
        return "http://127.0.0.1:8050"


def _table(df: pd.DataFrame) -> html.Table:
    """A plain HTML table: it needs none of the data-table bundles on first load."""
    numeric = {"first", "last", "change", "change_pct"}
    head = html.Thead(html.Tr([html.Th(c.replace("_", " ")) for c in df.columns]))
    body = html.Tbody([
        html.Tr([html.Td(f"{v:,.2f}" if c in numeric and pd.notna(v) else ("—" if pd.isna(v) else v),
                         className="num" if c in numeric else None) for c, v in row.items()])
        for row in df.to_dict("records")
    ])
    return html.Table([head, body], className="data-table", id="change-table-grid")


@callback(Output("hl", "value"), Input({"type": "ms-pick", "id": ALL}, "n_clicks"), prevent_initial_call=True)
def pick_milestone(clicks):
    if not ctx.triggered_id or not any(clicks):
        return dash.no_update
    return ctx.triggered_id["id"]


@callback(Output("download", "data"), Input("dl-csv", "n_clicks"), Input("dl-parquet", "n_clicks"),
          *[State(cid, "value") for cid in CONTROLS], prevent_initial_call=True)
def download(_csv, _parquet, *args):
    fmt = "parquet" if ctx.triggered_id == "dl-parquet" else "csv"
    content, filename = views.export(state_from_controls(_values(args)), fmt)
    return dcc.send_bytes(content, filename)


components.keep_url_in_step("view-query")

# Zoom or pan one panel and the other two follow (assets/sync.js).

clientside_callback(
    """function(r1, r2, r3) {
        return window.xborderSyncAxes(dash_clientside.callback_context, ['fig-deaths', 'fig-homicides', 'fig-seizures']);
    }""",
    Output("fig-deaths", "id"),
    Input("fig-deaths", "relayoutData"),
    Input("fig-homicides", "relayoutData"),
    Input("fig-seizures", "relayoutData"),
)
