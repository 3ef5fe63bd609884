"""Impact: did a series change after a milestone? Windows, interrupted time series, placebo
dates and a cross-correlation view, with the caveats in plain words."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
from dash import Input, Output, callback, dash_table, dcc, html

from dashboard import components, impact, store
from dashboard.state import check_params

dash.register_page(__name__, path="/impact", name="Impact", title="Did it change?")

WINDOWS = (6, 12, 24, 36)
GAPS = (0, 1, 3, 6)
DEFAULTS = {"series": "fentanyl_lbs", "geo": "CBP-SWB", "milestone": "security-dialogue", "window": "12",
            "gap": "0", "x": "fentanyl_lbs", "y": "od_synthetic"}


def parse(query: dict) -> tuple[dict, list[str]]:
    """Query parameters -> valid selection; anything invalid falls back with a notice."""
    geos = store.valid_geos()
    ms_ids = set(store.milestones()["id"])
    checks = {
        "series": lambda v: v in impact.SERIES, "milestone": lambda v: v in ms_ids,
        "window": lambda v: v in {str(w) for w in WINDOWS}, "gap": lambda v: v in {str(g) for g in GAPS},
        "x": lambda v: v in impact.SERIES, "y": lambda v: v in impact.SERIES,
    }
    out, notes = check_params(query, checks, DEFAULTS, skip=("geo",))  # geo depends on the series: below
    kind = impact.SERIES[out["series"]][2]
    geo = query.get("geo", impact.DEFAULT_GEO[kind])
    if geo not in geos[kind]:
        notes.append(f"Geography '{str(geo)[:20]}' does not fit this series; using {impact.DEFAULT_GEO[kind]}.")
        geo = impact.DEFAULT_GEO[kind]
    out["geo"] = geo
    return out, notes


@components.data_guard
def layout(**query) -> html.Div:
    sel, notes = parse(query)
    ms = store.milestones()
    opts = [{"label": label, "value": key} for key, (_, label, _) in impact.SERIES.items()]
    return html.Div([
        dcc.Store(id="impact-query"),
        components.notices(notes, "warning"),
        html.H2("Did it change?"),
        html.P("Pick a series and a milestone. The chart fits the trend before the milestone, extends it as the "
               "counterfactual and fits the trend after; the table gives the level and slope change with "
               "HAC (Newey–West) intervals, and how unusual the change is compared with every other date "
               "(placebo test).", className="lede"),
        html.Div([
            html.Div([html.Label("Series", className="ctl-label"),
                      dcc.Dropdown(id="imp-series", options=opts, value=sel["series"], clearable=False)], className="ctl"),
            html.Div([html.Label("Geography", className="ctl-label"),
                      dcc.Dropdown(id="imp-geo", value=sel["geo"], clearable=False)], className="ctl"),
            html.Div([html.Label("Milestone", className="ctl-label"),
                      dcc.Dropdown(id="imp-milestone", value=sel["milestone"], clearable=False,
                                   options=[{"label": f"{m.date:%Y-%m-%d} {m.title_en}", "value": m.id}
                                            for m in ms.itertuples()])], className="ctl"),
            html.Div([html.Label("Window (months each side)", className="ctl-label"),
                      dcc.Dropdown(id="imp-window", value=sel["window"], clearable=False,
                                   options=[str(w) for w in WINDOWS])], className="ctl"),
            html.Div([html.Label("Washout gap (months)", className="ctl-label"),
                      dcc.Dropdown(id="imp-gap", value=sel["gap"], clearable=False,
                                   options=[str(g) for g in GAPS])], className="ctl"),
        ], className="impact-controls"),
        html.Div([dcc.Loading(dcc.Graph(id="imp-figure")), html.Div(id="imp-table"),
                  html.Div(id="imp-caveats", className="panel-notes"), html.Div(id="imp-prov")], className="panel"),
        html.H3("Lagged cross-correlation"),
        html.Div([
            html.Div([html.Label("First series (x)", className="ctl-label"),
                      dcc.Dropdown(id="xc-x", options=opts, value=sel["x"], clearable=False)], className="ctl"),
            html.Div([html.Label("Second series (y)", className="ctl-label"),
                      dcc.Dropdown(id="xc-y", options=opts, value=sel["y"], clearable=False)], className="ctl"),
        ], className="impact-controls"),
        html.Div([dcc.Graph(id="xc-figure"), html.P(id="xc-reading"), html.Div(id="xc-warnings", className="panel-notes")],
                 className="panel"),
        html.H3("Mexico's two sources: INEGI vs SESNSP"),
        html.Div(discrepancy_section(), className="panel"),
    ])


def discrepancy_section() -> list:
    fig, table, notes = impact.discrepancy()
    return [
        dcc.Graph(figure=fig, id="disc-figure"),
        html.H4(f"Flagged: {table['state'].nunique()} states whose ratio moved sharply"),
        dash_table.DataTable(data=table.to_dict("records"), columns=[{"name": c, "id": c} for c in table.columns],
                             style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px"},
                             page_size=12, id="disc-table"),
        components.notices(notes),
        components.provenance_line(["inegi_homicide", "sesnsp_homicide"]),
    ]


@callback(Output("imp-geo", "options"), Output("imp-geo", "value"), Input("imp-series", "value"),
          Input("imp-geo", "value"))
def geo_options(series_key, geo):
    kind = impact.SERIES[series_key][2]
    options = [{"label": name, "value": code} for code, name in store.geo_options()[kind]]
    valid = {o["value"] for o in options}
    return options, geo if geo in valid else impact.DEFAULT_GEO[kind]


@callback(Output("imp-figure", "figure"), Output("imp-table", "children"), Output("imp-caveats", "children"),
          Output("imp-prov", "children"), Output("impact-query", "data"),
          Input("imp-series", "value"), Input("imp-geo", "value"), Input("imp-milestone", "value"),
          Input("imp-window", "value"), Input("imp-gap", "value"), Input("xc-x", "value"), Input("xc-y", "value"))
def update_impact(series_key, geo, milestone, window, gap, x_key, y_key):
    query = "?" + urlencode({"series": series_key, "geo": geo, "milestone": milestone, "window": window,
                             "gap": gap, "x": x_key, "y": y_key})
    source_id = impact.SERIES[series_key][0].split(".")[0]
    try:
        result = impact.run(series_key, geo, milestone, int(window), int(gap))
    except ValueError as exc:  # e.g. milestone outside the series' dates, too few points
        msg = f"Cannot analyse this selection: {exc}"
        return ({"data": [], "layout": {"title": {"text": msg}, "height": 200}}, None,
                components.notices([msg], "warning"), components.provenance_line([source_id]), query)
    table = dash_table.DataTable(
        data=result.table.to_dict("records"), columns=[{"name": c.replace("_", " "), "id": c} for c in result.table],
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px", "textAlign": "left"},
        style_header={"fontWeight": "600", "background": "#f4f6f8"}, id="imp-results",
    )
    caveats = html.Div([html.H4("What the data cannot say"), html.Ul([html.Li(c) for c in result.caveats])])
    return result.figure, table, caveats, components.provenance_line([source_id]), query


@callback(Output("xc-figure", "figure"), Output("xc-reading", "children"), Output("xc-warnings", "children"),
          Input("xc-x", "value"), Input("xc-y", "value"))
def update_xcorr(x_key, y_key):
    x_geo = impact.DEFAULT_GEO[impact.SERIES[x_key][2]]
    y_geo = impact.DEFAULT_GEO[impact.SERIES[y_key][2]]
    try:
        fig, warnings, reading = impact.xcorr(x_key, x_geo, y_key, y_geo)
    except ValueError as exc:
        return {"data": [], "layout": {"height": 120}}, f"Cannot correlate these series: {exc}", None
    return fig, reading, components.notices(warnings)


components.keep_url_in_step("impact-query")
