"""Maps: overdose deaths per 100k by US state, homicides per 100k by Mexican state."""

from __future__ import annotations

import dash
from dash import Input, Output, callback, dcc, html

from dashboard import components, figures, maps

dash.register_page(__name__, path="/maps", name="Maps", title="State maps")

US_DRUGS = {"all_drugs": "All drug overdoses", "synthetic_opioids": "Synthetic opioids (fentanyl, T40.4)"}
MX_SOURCES = {"inegi": "INEGI death certificates", "sesnsp": "SESNSP victims"}


def _int(value, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


@components.data_guard
def layout(year=None, us_drug="all_drugs", mx_source="inegi", **_ignored) -> html.Div:
    us_years = maps.complete_years(maps.US_MAP_SERIES["all_drugs"])
    year = _int(year, 2020)
    notes = []
    if year not in us_years:
        notes.append(f"Year {year!s:.10} is not available; showing 2020.")
        year = 2020
    us_drug = us_drug if us_drug in US_DRUGS else "all_drugs"
    mx_source = mx_source if mx_source in MX_SOURCES else "inegi"
    return html.Div([
        components.notices(notes, "warning"),
        html.Div([
            html.Label("Year", className="ctl-label"),
            dcc.Dropdown(id="map-year", options=us_years, value=year, clearable=False, style={"width": "140px"}),
            dcc.RadioItems(id="map-us-drug", value=us_drug, inline=True, className="radio",
                           options=[{"label": f" {v}", "value": k} for k, v in US_DRUGS.items()]),
            dcc.RadioItems(id="map-mx-source", value=mx_source, inline=True, className="radio",
                           options=[{"label": f" {v}", "value": k} for k, v in MX_SOURCES.items()]),
        ], className="map-controls"),
        html.Div([
            html.Div([dcc.Graph(id="map-us"), html.Div(id="map-us-prov")], className="panel"),
            html.Div([dcc.Graph(id="map-mx"), html.Div(id="map-mx-prov")], className="panel"),
        ], className="maps"),
        html.P("Rates are crude (not age-adjusted): deaths or homicides in the year divided by the population "
               "(US Census July 1 estimates; CONAPO mid-year, projections from 2020) × 100,000. US values are "
               "CDC's provisional 12-month-ending counts for December, New York State excludes New York City.",
               className="lede"),
    ])


@callback(Output("map-us", "figure"), Output("map-mx", "figure"), Output("map-us-prov", "children"),
          Output("map-mx-prov", "children"), Input("map-year", "value"), Input("map-us-drug", "value"),
          Input("map-mx-source", "value"))
def update_maps(year, us_drug, mx_source):
    us = maps.us_overdose_rates(year, us_drug)
    mx = maps.mx_homicide_rates(year, mx_source)
    us_fig = figures.choropleth(us, maps.geojson("us-states.json"), featureidkey="id", hover_name=us["name"],
                                title=f"{US_DRUGS[us_drug]}, deaths per 100k, {year}", colorbar_title="per 100k",
                                center={"lat": 38.5, "lon": -96.5}, zoom=2.5)
    mx_fig = (figures.choropleth(mx, maps.geojson("00ent_mexico.geojson"), featureidkey="properties.cve_geo",
                                 hover_name=mx["name"], colorbar_title="per 100k",
                                 center={"lat": 23.8, "lon": -102.2}, zoom=3.6,
                                 title=f"Homicides per 100k ({MX_SOURCES[mx_source]}), {year}")
              if len(mx) else figures.empty(f"No complete year {year} in {MX_SOURCES[mx_source]}", height=420))
    mx_src = "inegi_homicide" if mx_source == "inegi" else "sesnsp_homicide"
    return (us_fig, mx_fig, components.provenance_line(["cdc_vsrr_overdose", "population"]),
            components.provenance_line([mx_src, "population"]))
