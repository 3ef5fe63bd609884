"""Maps: overdose deaths per 100k per year by US state, homicides per 100k per year by Mexican
state, each with the table of its values, a summary in words and image downloads."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import dash
import flask
from dash import ALL, Input, Output, State, callback, clientside_callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import components, i18n, maps, response_cache
from dashboard.i18n import LANGS, t
from dashboard.state import check_params

DEFAULTS = {"us_drug": "all_drugs", "mx_source": "inegi", "sort": "-rate"}


def _title(**_path) -> str:
    """The <title>, in the language of the page URL (the referrer of the callback that asks)."""
    ref = parse_qs(urlparse(flask.request.referrer or "").query) if flask.has_request_context() else {}
    return t("maps.page_title", components.page_lang({"lang": ref.get("lang")}))


dash.register_page(__name__, path="/maps", name="Maps", title=_title)


def parse(query: dict) -> tuple[dict, list[tuple[str, dict]]]:
    """URL parameters -> selection; a bad one falls back to its default with a notice (a catalog
    key and its parameters)."""
    offered = maps.offered_years()
    checks = {"year": lambda v: v.isdigit() and int(v) in offered, "us_drug": lambda v: v in maps.US.options,
              "mx_source": lambda v: v in maps.MX.options, "sort": lambda v: v in maps.SORTS,
              "lang": lambda v: v in LANGS}
    sel, notes = check_params(query, checks, {**DEFAULTS, "year": str(maps.default_year()), "lang": ""})
    return {**sel, "year": int(sel["year"])}, notes


def _year_controls(us_drug: str, mx_source: str, year: int, lang: str) -> tuple[list[dict], list]:
    """The Year list, latest first: the years at least one of the two chosen maps draws, and the
    year shown (an old link's, or one the other series drew), so the list never hides it; the
    notice when neither map draws that year, and where later years are drawn."""
    choices = maps.years_for(us_drug, mx_source)
    options = [{"label": str(y), "value": y} for y in sorted({*choices, year}, reverse=True)]
    notes = maps.year_empty_notice(year, choices)
    out = [components.notices([t(k, lang, **p) for k, p in notes], "warning")] if notes else []
    later, others = maps.later_years(us_drug, mx_source)
    if later:
        span = str(later[0]) if len(later) == 1 else f"{later[0]}–{later[-1]}"
        series = i18n.listing([maps.series_title(k, o, lang) for k, o in others], lang)
        out.append(components.notices([t("maps.notice.later_years", lang, years=span, series=series)], "info"))
    return options, out


def _str_in(value, options) -> bool:
    """A callback payload can be forged with any JSON (list, dict, number): only a string among
    the offered choices is used, so a membership test never raises (unhashable) a 500."""
    return isinstance(value, str) and value in options


def _year(value) -> int | None:
    """The Year list sends an int; a link-like string of digits is accepted too. Anything else
    (a forged list, float, bool) is no year."""
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return value if isinstance(value, int) and not isinstance(value, bool) and value in maps.offered_years() else None


def _radio(id_: str, legend: str, value: str, options: dict[str, str]) -> html.Fieldset:
    return html.Fieldset([html.Legend(legend), dcc.RadioItems(
        id=id_, value=value, className="radio", options=[{"label": v, "value": k} for k, v in options.items()])],
        className="map-fieldset")


def _map_panel(key: str, lang: str) -> html.Section:
    return html.Section([
        # the figure prints its title (exported images keep it); the heading is for screen readers
        html.H3(id=f"map-{key}-heading", className="sr-only"),
        dcc.Graph(id=f"map-{key}", className="map-graph", responsive=True, config={
            "displaylogo": False, "topojsonURL": dash.get_asset_url(maps.TOPOJSON_ASSETS), "scrollZoom": False, "locale": i18n.PLOTLY_LOCALES[lang],
            "modeBarButtonsToRemove": ["select2d", "lasso2d"]}),
        html.P(id=f"map-{key}-summary", className="chart-summary", **{"aria-live": "polite"}),
        html.Div([
            html.Button(t("maps.download.png", lang), id=f"map-{key}-png", className="btn btn-light", n_clicks=0),
            html.Button(t("maps.download.svg", lang), id=f"map-{key}-svg", className="btn btn-light", n_clicks=0),
        ], className="downloads"),
        html.Div(id=f"map-{key}-table", className="table-scroll", tabIndex=0, role="region",
                 **{"aria-label": t(f"maps.{key}.table_label", lang)}),
        html.Div(id=f"map-{key}-prov"),
    ], className="panel map-panel", **{"aria-labelledby": f"map-{key}-heading"})


@components.data_guard
def layout(**query) -> html.Div:
    lang = components.page_lang(query)
    sel, notes = parse(query)
    year_options, year_note = _year_controls(sel["us_drug"], sel["mx_source"], sel["year"], lang)
    return html.Div([
        dcc.Store(id="maps-query"), dcc.Store(id="maps-lang", data=lang), dcc.Store(id="maps-sort", data=sel["sort"]),
        components.notices([t(key, lang, **params) for key, params in notes], "warning"),
        html.H2(t("maps.heading", lang)),
        html.P(t("maps.lede", lang), className="lede"),
        html.Div([
            html.Div([html.Label(t("maps.year", lang), htmlFor="map-year", className="ctl-label", id="map-year-label"),
                      dcc.Dropdown(id="map-year", options=year_options,
                                   value=sel["year"], clearable=False, searchable=False,
                                   className="year-dropdown")], className="ctl"),
            _radio("map-us-drug", t("maps.us.control", lang), sel["us_drug"],
                   {k: maps.series_title("us", k, lang) for k in maps.US.options}),
            _radio("map-mx-source", t("maps.mx.control", lang), sel["mx_source"],
                   {k: maps.series_title("mx", k, lang) for k in maps.MX.options}),
        ], className="map-controls"),
        # a year neither chosen map draws is kept (links open what they name) and said so
        html.Div(year_note, id="map-year-note", **{"aria-live": "polite"}),
        html.Div([_map_panel("us", lang), _map_panel("mx", lang)], className="maps", id="charts"),
        html.P(t("maps.method", lang), className="lede"),
    ], lang=lang)


def _table(key: str, frame, lang: str, sort: str, caption: str) -> html.Table | html.P:
    rows = maps.table_rows(frame, lang, sort)
    if not rows:
        return html.P(t("maps.table.empty", lang), className="notice info")

    def head(col: str, label: str, numeric: bool = False) -> html.Th:
        state = "descending" if sort == f"-{col}" else "ascending" if sort == col else "none"
        arrow = {"descending": " ▼", "ascending": " ▲", "none": ""}[state]
        return html.Th(html.Button([label, html.Span(arrow, **{"aria-hidden": "true"})],
                                   id={"type": "map-sort", "map": key, "col": col}, n_clicks=0, className="sort-btn",
                                   title=t("maps.table.sort", lang, column=label)),
                       scope="col", className="num" if numeric else None, **{"aria-sort": state})

    return html.Table([
        html.Caption(caption),
        html.Thead(html.Tr([head("name", t("maps.table.state", lang)), head("rate", t("maps.table.rate", lang), True),
                            html.Th(t(f"maps.{key}.count", lang), scope="col", className="num"),
                            html.Th(t("maps.table.population", lang), scope="col", className="num")])),
        html.Tbody([html.Tr([html.Th(r["name"], scope="row"), html.Td(r["rate"], className="num"),
                             html.Td(r["count"], className="num"), html.Td(r["population"], className="num")])
                    for r in rows]),
    ], className="data-table map-table")


def _one_map(key: str, option: str, year: int, lang: str, sort: str):
    frame = maps.year_rates(key, option, year)
    title = maps.figure_title(key, option, year, lang)
    return (maps.figure(key, option, year, frame, lang), title, maps.summary(key, option, year, frame, lang),
            _table(key, frame, lang, sort, title), components.provenance_line(maps.source_ids(key, option), lang))


@callback(Output("map-us", "figure"), Output("map-us-heading", "children"), Output("map-us-summary", "children"),
          Output("map-us-table", "children"), Output("map-us-prov", "children"),
          Output("map-mx", "figure"), Output("map-mx-heading", "children"), Output("map-mx-summary", "children"),
          Output("map-mx-table", "children"), Output("map-mx-prov", "children"),
          Output("maps-query", "data"),
          Output("map-year", "options"), Output("map-year-note", "children"),
          Input("map-year", "value"), Input("map-us-drug", "value"), Input("map-mx-source", "value"),
          Input("maps-sort", "data"), State("maps-lang", "data"))
@response_cache.cacheable_response  # reads nothing but the controls Dash posts
def update_maps(year, us_drug, mx_source, sort, lang):
    # a forged value (a list, a dict) draws nothing rather than failing a lookup with a 500
    year = _year(year)
    if year is None or not _str_in(us_drug, maps.US.options) or not _str_in(mx_source, maps.MX.options):
        raise PreventUpdate
    sort = sort if _str_in(sort, maps.SORTS) else DEFAULTS["sort"]
    lang = lang if _str_in(lang, LANGS) else "en"
    params = {"year": year, "us_drug": us_drug, "mx_source": mx_source}
    if sort != DEFAULTS["sort"]:
        params["sort"] = sort
    if lang != "en":
        params["lang"] = lang
    return (*_one_map("us", us_drug, year, lang, sort), *_one_map("mx", mx_source, year, lang, sort),
            "?" + urlencode(params), *_year_controls(us_drug, mx_source, year, lang))  # the list follows the series


@callback(Output("maps-sort", "data"), Input({"type": "map-sort", "map": ALL, "col": ALL}, "n_clicks"),
          State("maps-sort", "data"), prevent_initial_call=True)
def change_sort(clicks, current):
    """A click on a column header sorts both tables by it; a second click reverses the order."""
    if not ctx.triggered_id or not isinstance(clicks, list) or not any(clicks):
        raise PreventUpdate  # the header buttons were just redrawn, not clicked (or a forged payload)
    col = ctx.triggered_id.get("col") if isinstance(ctx.triggered_id, dict) else None
    if not _str_in(col, {s.lstrip("-") for s in maps.SORTS}):
        raise PreventUpdate  # not one of the table's sortable columns
    if current == f"-{col}":
        return col
    if current == col:
        return f"-{col}"
    return "-rate" if col == "rate" else "name"


components.keep_url_in_step("maps-query")

# Image downloads: plotly.js writes the figure as it is drawn (title, colour bar and source line
# are inside the figure), named after the map and year.
for _key in ("us", "mx"):
    for _fmt in ("png", "svg"):
        clientside_callback(
            f"""function (n, year) {{
                if (!n) {{ return window.dash_clientside.no_update; }}
                const gd = document.querySelector('#map-{_key} .js-plotly-plot');
                if (gd) {{ window.Plotly.downloadImage(gd, {{format: '{_fmt}', width: 1000, height: 620,
                    filename: 'map-{_key}-' + year}}); }}
                return window.dash_clientside.no_update;
            }}""",
            Output(f"map-{_key}-{_fmt}", "id"), Input(f"map-{_key}-{_fmt}", "n_clicks"), State("map-year", "value"),
            prevent_initial_call=True)
