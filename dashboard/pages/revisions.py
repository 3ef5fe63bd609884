"""Revisions: how CDC's provisional overdose counts were revised from one data vintage to the
next, and the series exactly as it was known on a chosen date."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import pandas as pd
from dash import Input, Output, callback, ctx, dash_table, dcc, html
from dash.dash_table.Format import Format, Group, Scheme, Sign, Symbol
from dash.exceptions import PreventUpdate

from dashboard import components, revisions, store
from dashboard.state import check_params, is_date

dash.register_page(__name__, path="/revisions", name="Revisions", title="How were the numbers revised?")

CAVEAT = ("Each vintage is a different CDC release (a dated snapshot of the publisher's file). Provisional counts "
          "are revised upward as death records close, so the latest months of any vintage are the least complete.")


def defaults() -> dict:
    return {"series": "all_drugs", "geo": "US", "as_of": revisions.vintages()[-1]}


def parse(query: dict) -> tuple[dict, list[str]]:
    """Query parameters -> valid selection; anything invalid falls back with a notice."""
    checks = {"series": lambda v: v in revisions.series_keys(), "geo": lambda v: v in store.valid_geos()["us"],
              "as_of": is_date}
    return check_params(query, checks, defaults())


@components.data_guard
def layout(**query) -> html.Div:
    sel, notes = parse(query)
    vintage_opts = [{"label": f"{v} (vintage)", "value": v} for v in revisions.vintages()]
    return html.Div([
        dcc.Store(id="revisions-query"),
        components.notices(notes, "warning"),
        html.H2("How were the numbers revised?"),
        html.P("CDC's overdose counts are provisional: each release (vintage) revises earlier months as death "
               "records close. One line per vintage shows how the same months were first reported and later "
               "revised; the table lists every month published in more than one vintage.", className="lede"),
        html.Div([
            html.Div([html.Label("Series", className="ctl-label"),
                      dcc.Dropdown(id="rev-series", value=sel["series"], clearable=False,
                                   options=series_options(sel["geo"]))], className="ctl"),
            html.Div([html.Label("Geography", className="ctl-label"),
                      dcc.Dropdown(id="rev-geo", value=sel["geo"], clearable=False,
                                   options=[{"label": n, "value": c} for c, n in store.geo_options()["us"]])],
                     className="ctl"),
            html.Div([html.Label("As of (a vintage…)", className="ctl-label"),
                      dcc.Dropdown(id="rev-asof", options=vintage_opts, placeholder="another date", clearable=False,
                                   value=sel["as_of"] if sel["as_of"] in revisions.vintages() else None)],
                     className="ctl"),
            html.Div([html.Label("…or any date", className="ctl-label"),
                      dcc.DatePickerSingle(id="rev-asof-date", date=sel["as_of"], display_format="YYYY-MM-DD")],
                     className="ctl"),
        ], className="impact-controls"),
        html.Div([dcc.Loading(dcc.Graph(id="rev-figure")), html.P(id="rev-summary", className="rev-summary"),
                  html.Div(id="rev-asof-note"), html.Div(id="rev-notes"),
                  components.provenance_line([revisions.SOURCE]), html.P(CAVEAT, className="rev-caveat")],
                 className="panel"),
        html.H3("Revisions by month"),
        html.Div(id="rev-table", className="panel"),
    ])


def table_component(table: pd.DataFrame) -> dash_table.DataTable:
    table = table.sort_values("date", ascending=False).assign(date=lambda d: d["date"].dt.strftime("%b %Y"))
    def count():  # Format's methods change it in place: a fresh one per column kind
        return Format(group=Group.yes, precision=0, scheme=Scheme.fixed)
    columns = [{"name": "12 months ending", "id": "date"}]
    columns += [{"name": c, "id": c, "type": "numeric", "format": count()} for c in table if c.startswith("as of")]
    columns += [{"name": "revision (newest − earliest)", "id": "revision", "type": "numeric",
                 "format": count().sign(Sign.positive)},
                {"name": "% revision", "id": "pct_revision", "type": "numeric",
                 "format": Format(precision=1, scheme=Scheme.fixed, sign=Sign.positive).symbol(Symbol.yes).symbol_suffix("%")}]
    return dash_table.DataTable(
        data=table.to_dict("records"), columns=columns, page_size=12, id="rev-results",
        style_cell={"fontFamily": "inherit", "fontSize": 13, "padding": "4px 8px"},
        style_header={"fontWeight": "600", "background": "#f4f6f8"})


@callback(Output("rev-series", "options"), Input("rev-geo", "value"))
def series_options(geo):
    counts = revisions.vintage_counts(geo)
    def label(key, title):
        n = counts.get(key, 0)
        return f"{title} — {n} vintages" if n > 1 else f"{title} — only {n} vintage" if n else f"{title} — no data here"
    return [{"label": label(k, t), "value": k} for k, t in revisions.series_keys().items()]


@callback(Output("rev-asof", "value"), Output("rev-asof-date", "date"),
          Input("rev-asof", "value"), Input("rev-asof-date", "date"), prevent_initial_call=True)
def sync_as_of(vintage, date):
    if ctx.triggered_id == "rev-asof":
        return dash.no_update, vintage or dash.no_update
    date = (date or "")[:10]
    return (date if date in revisions.vintages() else None), dash.no_update


@callback(Output("rev-figure", "figure"), Output("rev-summary", "children"), Output("rev-asof-note", "children"),
          Output("rev-notes", "children"), Output("rev-table", "children"), Output("revisions-query", "data"),
          Input("rev-series", "value"), Input("rev-geo", "value"), Input("rev-asof-date", "date"))
def update(series_key, geo, as_of):
    if series_key not in revisions.series_keys() or geo not in store.valid_geos()["us"]:
        raise PreventUpdate
    as_of = (as_of or defaults()["as_of"])[:10]
    r = revisions.build(series_key, geo, as_of)
    note = components.notices([r.as_of.message], "warning" if r.as_of.vintage is None else "info")
    table = table_component(r.table) if len(r.table) else html.P("No month appears in more than one vintage.")
    query = "?" + urlencode({"series": series_key, "geo": geo, "as_of": as_of})
    return r.figure, r.summary, note, components.notices(r.notes, "warning"), table, query


components.keep_url_in_step("revisions-query")
