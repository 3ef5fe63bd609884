"""Timeline: every registered panel on one milestone-annotated time axis.

The page loops over the panel registry: controls, charts and the callback that fills them are
generated from the ``PanelSpec``s, with pattern-matching ids (``{"type": "fig", "panel": key}``),
so a new source's panel appears here without an edit to this file.
"""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import parse_qsl, urlencode

import dash
import pandas as pd
from dash import ALL, MATCH, Input, Output, State, callback, clientside_callback, ctx, dcc, html

from dashboard import cache, cite, components, figures, i18n, response_cache, store, views
from dashboard.i18n import t
from dashboard.registry import PanelSpec, label, registry
from dashboard.state import (
    MILESTONE_CATEGORIES, ROLLING, TRANSFORMS, Parsed, ViewState, compare_param, parse_query, parse_values,
    to_query,
)
from etl import vocabulary

dash.register_page(__name__, path="/", name="Timeline", title=components.page_title("timeline.page_title"))

# Global controls: component id -> URL parameter.
GLOBAL_CONTROLS = {
    "panels": "panels", "start": "start", "end": "end", "transform": "transform", "index-at": "index_at",
    "rolling": "rolling", "log": "log", "changepoints": "changepoints", "cats": "cats", "hl": "hl",
}
FLAG_CONTROLS = {"log", "changepoints"}  # one-item checklists
GRAPH_CONFIG = {"displaylogo": False, "modeBarButtonsToRemove": ["sendDataToCloud"], "responsive": True}


def geo_choices() -> dict[str, set[str]]:
    return {p.key: set(store.panel_geos(p)) | {p.default_geo} for p in registry().ordered()}


@lru_cache(maxsize=4)
def _choices(_catalog: int, _milestones: int) -> tuple[dict[str, set[str]], frozenset[str]]:
    """What a view may name (geographies per panel, milestone ids): the same until the data or
    the milestones change."""
    return geo_choices(), frozenset(store.milestones()["id"])


def parse(query: dict) -> Parsed:
    geos, ms = _choices(store.catalog_token(), store.milestones_token())
    return parse_values(query, registry(), geos, ms)


def parse_url(search: str) -> Parsed:
    geos, ms = _choices(store.catalog_token(), store.milestones_token())
    return parse_query(search, registry(), geos, ms)


# --- controls <-> view state ------------------------------------------------------------------


def controls_query(facets: list, facet_ids: list[dict], geos: list, geo_ids: list[dict], globals_: dict,
                   zoom: dict | None, lang: str, compares: list = (), compare_ids: list[dict] = ()) -> dict:
    """Control values -> URL parameters, through the same validation as a URL: a typo in a
    free-text date or an emptied list falls back to the default with a notice. Ids that name
    no panel or facet (a forged payload) are ignored."""
    reg = registry()
    query: dict = {"lang": lang}
    for cid, name in GLOBAL_CONTROLS.items():
        v = globals_.get(cid)
        query[name] = ("1" if v else "0") if cid in FLAG_CONTROLS else v
    for cid, v in zip(geo_ids, geos):
        spec = reg.panels.get(cid.get("panel") if isinstance(cid, dict) else None)
        if spec:
            query[spec.geo_param] = v
    for cid, v in zip(compare_ids, compares):
        spec = reg.panels.get(cid.get("panel") if isinstance(cid, dict) else None)
        if spec and spec.comparable:
            query[compare_param(spec)] = v
    for cid, v in zip(facet_ids, facets):
        spec = reg.panels.get(cid.get("panel") if isinstance(cid, dict) else None)
        if not spec or cid.get("facet") not in {f.key for f in spec.facets}:
            continue
        f = spec.facet(cid["facet"])
        query[spec.facet_param(f)] = ("1" if v else "0") if f.kind == "toggle" else v
    if isinstance(zoom, dict) and zoom.get("x0") and zoom.get("x1"):
        query["x0"], query["x1"] = str(zoom["x0"])[:10], str(zoom["x1"])[:10]
    return {k: ("" if v is None else v) for k, v in query.items()}


def control_values(s: ViewState) -> dict:
    """What each control holds for a view (the layout sets these; tests use them)."""
    reg = registry()
    out = {
        "panels": list(s.panels), "start": s.start, "end": s.end, "transform": s.transform,
        "index-at": s.index_at, "rolling": s.rolling, "log": ["on"] if s.log else [],
        "changepoints": ["on"] if s.changepoints else [], "cats": list(s.cats), "hl": s.hl or None,
    }
    for p in reg.ordered():
        view = s.panel(p.key)
        out[("geo", p.key)] = view.geo
        if p.comparable:
            out[("compare", p.key)] = list(view.compare)
        for f in p.facets:
            v = view.get(f.key)
            out[("facet", p.key, f.key)] = (["on"] if v else []) if f.kind == "toggle" else \
                list(v) if f.kind == "multi" else v[0]
    return out


def _labelled(text: str, control, for_id: str | None = None) -> html.Div:
    return html.Div([html.Label(text, className="ctl-label", htmlFor=for_id), control], className="ctl")


def _dom_id(d: dict) -> str:
    """A plain DOM id for a label's htmlFor (pattern-matching ids are JSON objects)."""
    return "-".join(str(v) for v in d.values())


def facet_control(spec: PanelSpec, f, view, lang: str):
    cid = {"type": "facet", "panel": spec.key, "facet": f.key}
    value = view.get(f.key)
    options = [{"label": label(v, lang), "value": v.id} for v in f.values]
    if f.kind == "toggle":
        return dcc.Checklist(id=cid, options=[{"label": f" {label(f, lang)}", "value": "on"}],
                             value=["on"] if value else [], className="check")
    if f.kind == "single":
        return html.Div([html.Span(label(f, lang), className="ctl-label", id=_dom_id(cid) + "-label"),
                         dcc.RadioItems(id=cid, options=[{**o, "label": f" {o['label']}"} for o in options],
                                        value=value[0], inline=True, className="radio",
                                        inputStyle={"marginRight": "0.2em"})],
                        className="ctl", role="radiogroup", **{"aria-labelledby": _dom_id(cid) + "-label"})
    if len(options) <= 8:  # a checklist shows every choice at once; a long list gets a searchable dropdown
        return html.Div([html.Span(label(f, lang), className="ctl-label"),
                         dcc.Checklist(id=cid, options=[{**o, "label": f" {o['label']}"} for o in options],
                                       value=list(value), className="check")], className="ctl")
    return _labelled(label(f, lang), dcc.Dropdown(id=cid, options=options, value=list(value), multi=True,
                                                  searchable=True, clearable=False,
                                                  labels=components.dropdown_labels(lang)), None)


def panel_controls(spec: PanelSpec, s: ViewState, lang: str) -> html.Fieldset:
    view = s.panel(spec.key)
    geos = store.panel_geos(spec) or (spec.default_geo,)
    geo_options = [{"label": views.geo_label(spec, g, lang), "value": g} for g in geos]
    return html.Fieldset([
        html.Legend(spec.name_es if lang == "es" and spec.name_es else spec.name),
        _labelled(t("controls.geography", lang),
                  dcc.Dropdown(id={"type": "geo", "panel": spec.key}, options=geo_options, value=view.geo,
                               clearable=False, searchable=True, labels=components.dropdown_labels(lang))),
        *([_labelled(t("controls.compare", lang),
                     dcc.Dropdown(id={"type": "compare", "panel": spec.key}, options=geo_options, value=list(view.compare),
                                  multi=True, searchable=True, labels=components.dropdown_labels(lang)))]
          if spec.comparable else []),
        *[facet_control(spec, f, view, lang) for f in spec.facets],
    ], id={"type": "panel-controls", "panel": spec.key}, hidden=spec.key not in s.panels)


def controls(s: ViewState) -> html.Div:
    lang = s.lang
    reg = registry()
    ms = store.milestones()
    numbers = store.milestone_numbers()
    index_options = [{"label": f"{i18n.month(m.date, lang)} · {m.title_es if lang == 'es' else m.title_en}",
                      "value": m.id} for m in ms.itertuples()]
    index_options += [{"label": f"{y}-01", "value": f"{y}-01-01"} for y in range(2015, 2026)]
    if s.index_at not in {o["value"] for o in index_options}:
        index_options.append({"label": s.index_at, "value": s.index_at})
    cats = vocabulary.milestone_categories()
    return html.Div([
        html.Fieldset([
            html.Legend(t("controls.panels", lang)),
            dcc.Checklist(id="panels", value=list(s.panels), className="check",
                          options=[{"label": f" {p.name_es if lang == 'es' and p.name_es else p.name}", "value": p.key}
                                   for p in reg.ordered()]),
        ]),
        *[panel_controls(p, s, lang) for p in reg.ordered()],
        html.Fieldset([
            html.Legend(t("controls.view", lang)),
            _labelled(t("controls.from", lang), dcc.Input(id="start", type="text", value=s.start, debounce=True,
                                                          pattern=r"\d{4}-\d{2}-\d{2}",
                                                          placeholder=t("controls.date_placeholder", lang)),
                      "start"),
            _labelled(t("controls.to", lang), dcc.Input(id="end", type="text", value=s.end, debounce=True,
                                                        placeholder=t("controls.date_placeholder", lang)), "end"),
            html.Div([html.Span(t("controls.transform", lang), className="ctl-label", id="transform-label"),
                      dcc.RadioItems(id="transform", value=s.transform, className="radio", options=[
                          {"label": " " + t(f"transform.{x}.control", lang), "value": x} for x in TRANSFORMS])],
                     className="ctl", role="radiogroup", **{"aria-labelledby": "transform-label"}),
            _labelled(t("controls.index_at", lang), dcc.Dropdown(id="index-at", options=index_options,
                                                                 value=s.index_at, clearable=False, searchable=True,
                                                                 disabled=s.transform != "index",
                                                                 labels=components.dropdown_labels(lang))),
            _labelled(t("controls.rolling", lang), dcc.Dropdown(id="rolling", value=s.rolling, clearable=False,
                                                             labels=components.dropdown_labels(lang), options=[
                {"label": t("controls.rolling_none", lang) if r == 0 else t("controls.rolling_months", lang, n=r),
                 "value": r} for r in ROLLING])),
            dcc.Checklist(id="log", options=[{"label": " " + t("controls.log", lang), "value": "on"}],
                          value=["on"] if s.log else [], className="check"),
            dcc.Checklist(id="changepoints", options=[{"label": " " + t("controls.changepoints", lang), "value": "on"}],
                          value=["on"] if s.changepoints else [], className="check"),
        ]),
        html.Fieldset([
            html.Legend(t("controls.milestones", lang)),
            dcc.Checklist(id="cats", value=list(s.cats), className="check cats",
                          options=[{"label": html.Span([html.Span(className="swatch", style={"backgroundColor": cats[c].color}),
                                                        f" {_sentence_case(label(cats[c], lang))}"]),
                                    "value": c} for c in MILESTONE_CATEGORIES]),
            _labelled(t("controls.highlight", lang), dcc.Dropdown(
                id="hl", value=s.hl or None, placeholder=t("controls.none", lang), searchable=True,
                labels=components.dropdown_labels(lang),
                options=[{"label": f"{numbers.get(m.id, '')} · {i18n.day(m.date, lang)} "
                                   f"{m.title_es if lang == 'es' else m.title_en}", "value": m.id}
                         for m in ms.itertuples()])),
        ]),
    ], className="controls")


def query_dict(query: dict) -> dict:
    """Dash hands a repeated URL parameter over as a list: the last one wins."""
    return {k: (v[-1] if isinstance(v, list) and v else v) for k, v in query.items()}


def layout(**query) -> html.Div:
    lang = components.page_lang(query)
    query = {**query_dict(query), "lang": lang}
    parsed = parse_url(urlencode(query))
    s = parsed.state
    v = render_view(s, [])
    reg = registry()
    milestone_error = store.milestones_error()
    return html.Div([
        dcc.Store(id="view-query", data=v["view-query"]),
        dcc.Store(id="zoom", data={"x0": s.x0, "x1": s.x1} if s.x0 else {}),
        dcc.Store(id="page-lang", data=lang),
        html.Div(id="url-notices", children=components.notices(
            parsed.notices + ([milestone_error] if milestone_error else []), "warning", lang)),
        html.Div(id="control-notices", children=v["control-notices"]),
        html.Div([
            html.Aside(html.Details([html.Summary(t("controls.summary", lang), className="drawer-summary"),
                                     controls(s),
                                     # on a phone the charts are ~1,800 px below the opened controls
                                     html.A(t("controls.to_charts", lang), href="#charts", className="to-charts")],
                                    open=True, className="drawer", id="controls-drawer"),
                       className="sidebar", **{"aria-label": t("controls.summary", lang)}),
            html.Section([
                html.H1(t("timeline.h1", lang), className="page-title"),
                html.P(t("timeline.lede", lang), className="lede"),
                *[panel_box(p, s, v) for p in reg.ordered()],
                html.Div([
                    html.Button(t("download.csv", lang), id="dl-csv", className="btn"),
                    html.Button(t("download.parquet", lang), id="dl-parquet", className="btn"),
                    html.Span(id="data-version", className="version", children=v["data-version"]),
                    dcc.Download(id="download"),
                ], className="downloads"),
                html.Details([html.Summary(t("table.summary", lang)),
                              html.Div(id="change-table", children=v["change-table"], className="table-scroll")],
                             open=False, className="table-view"),
                html.Details([html.Summary(t("cite.summary", lang)), html.Div(id="cite-view", children=v["cite-view"])],
                             open=False, className="table-view"),
                html.H2(t("milestones.heading", lang)),
                html.P(t("milestones.key_intro", lang), className="lede"),
                html.Div(id="ms-list", children=_milestone_list(MILESTONE_CATEGORIES, s.hl, lang,
                                                                 store.milestones_token())),
            ], className="content", id="charts", tabIndex="-1"),
        ], className="layout"),
    ])


def _sentence_case(text: str) -> str:
    """"Aplicación de la ley", not CSS capitalize's "Aplicación De La Ley"."""
    return text[:1].upper() + text[1:]


def panel_box(spec: PanelSpec, s: ViewState, v: dict) -> html.Div:
    k, lang = spec.key, s.lang
    shown = k in s.panels
    return html.Div([
        dcc.Graph(id={"type": "fig", "panel": k}, figure=v["fig"].get(k, {"data": [], "layout": {}}),
                  config={**GRAPH_CONFIG, "locale": i18n.PLOTLY_LOCALES[lang], "toImageButtonOptions": {
                      "format": "png", "filename": f"xborder-{k}", "scale": 2}},
                  # A definite height: a responsive graph fills its box, and a panel hidden at its
                  # first draw (figure {}) was left 0 px tall when shown, its chart spilling out.
                  className="panel-graph", style={"height": f"{figures.PANEL_HEIGHT}px"}),
        html.P(label_description(spec, lang), className="panel-description"),
        html.Div(id={"type": "notes", "panel": k}, className="panel-notes", children=v["notes"].get(k)),
        html.Div(id={"type": "prov", "panel": k}, children=v["prov"].get(k)),
        html.Details([html.Summary(t("panel.data_table", lang)),
                      html.Div(id={"type": "data", "panel": k}, className="table-scroll")],
                     id={"type": "data-box", "panel": k}, open=False, className="table-view panel-table"),
        html.Div([
            html.Button(t("embed.copy", lang), id={"type": "embed-btn", "panel": k}, className="btn btn-small",
                        **{"data-embed": k}),
            html.Button("PNG", id={"type": "png-btn", "panel": k}, className="btn btn-small",
                        title=t("panel.png", lang), **{"data-png": k}),
            html.Button("SVG", id={"type": "svg-btn", "panel": k}, className="btn btn-small",
                        title=t("panel.svg", lang), **{"data-svg": k}),
        ], className="panel-tools"),
    ], id={"type": "panel-box", "panel": k}, className="panel", hidden=not shown,
        role="region", **{"aria-label": views.panel_title(spec, s.panel(k).geo, s.panel(k).selection(), lang)})


def label_description(spec: PanelSpec, lang: str) -> str:
    return spec.description_es if lang == "es" and spec.description_es else spec.description


def render_panel(panel: views.Panel, s: ViewState, x_range) -> tuple:
    """One panel's figure, notes and provenance (its data table is drawn when opened)."""
    fig, notes = views.panel_figure(panel, s, x_range)
    summary = html.P(views.text_summary(panel), className="chart-summary", role="note")
    return fig, [summary, components.notices(notes, lang=s.lang)], components.provenance_line(panel.sources, s.lang)


@lru_cache(maxsize=32)
def _milestone_list(cats: tuple[str, ...], hl: str, lang: str, _token: int) -> html.Ol:
    return components.milestone_list(store.milestones(), cats, hl, lang, store.milestone_numbers())


def render_view(s: ViewState, notices: list) -> dict:
    """Everything the timeline shows for a view: per-panel parts keyed by panel, page parts."""
    lang = s.lang
    panels = views.build_panels(s)
    x_range = views.x_range(s, panels)
    out: dict = {"fig": {}, "notes": {}, "prov": {}}
    for panel in panels:
        k = panel.key
        out["fig"][k], out["notes"][k], out["prov"][k] = render_panel(panel, s, x_range)
    query = to_query(s, registry())
    sources = [sid for p in panels for sid in p.sources]
    version = store.data_version(sources)
    zoomed = views.clip_to_zoom(panels, s)
    out["change-table"] = change_table(views.change_table(zoomed), lang)
    out["view-query"] = query
    out["data-version"] = t("version.line", lang, version=version, updated=store.last_updated(sources))
    out["cite-view"] = components.cite_block(cite.citation(s, panels, cite.base_url()), cite.snippet(query, lang), lang)
    out["control-notices"] = components.notices(notices, "warning", lang)
    return out


# Rendered views are shared by every worker (and every host with REDIS_URL), keyed on the
# normalised view and the data version: see dashboard/cache.py.
render_view = cache.memoize_view(render_view, defaults=lambda: [(parse_url("").state, [])])

PANEL_OUTPUTS = ("fig", "notes", "prov")
# The milestone key is drawn once with the page, not by the callback: re-rendering its buttons
# would re-trigger pick_milestone, whose output (hl) feeds the callback, and stall Dash's queue.
PAGE_OUTPUTS = ("change-table", "view-query", "data-version", "cite-view", "control-notices")
_PROPS = {"fig": "figure", "view-query": "data"}


@callback(
    *[Output({"type": k, "panel": ALL}, _PROPS.get(k, "children")) for k in PANEL_OUTPUTS],
    Output({"type": "panel-box", "panel": ALL}, "hidden"),
    Output({"type": "panel-controls", "panel": ALL}, "hidden"),
    *[Output(k, _PROPS.get(k, "children")) for k in PAGE_OUTPUTS],
    Input({"type": "facet", "panel": ALL, "facet": ALL}, "value"),
    Input({"type": "geo", "panel": ALL}, "value"),
    Input({"type": "compare", "panel": ALL}, "value"),
    *[Input(cid, "value") for cid in GLOBAL_CONTROLS],
    State("zoom", "data"),
    State("page-lang", "data"),
    prevent_initial_call=True,
)
@response_cache.cacheable_response  # reads nothing but the controls Dash posts
def update_timeline(facets, geos, compares, *rest):
    """Every panel (ALL) and the page parts, from the controls (and the zoomed range, kept)."""
    *globals_, zoom, lang = rest
    parsed = parse(controls_query(facets, [i["id"] for i in ctx.inputs_list[0]], geos,
                                  [i["id"] for i in ctx.inputs_list[1]], dict(zip(GLOBAL_CONTROLS, globals_)),
                                  zoom, lang if lang in i18n.LANGS else i18n.DEFAULT_LANG,
                                  compares, [i["id"] for i in ctx.inputs_list[2]]))
    s = parsed.state
    v = render_view(s, parsed.notices)
    keys = [o["id"]["panel"] for o in ctx.outputs_list[0]]
    per_panel = [[v[part].get(k, dash.no_update) for k in keys] for part in PANEL_OUTPUTS]
    hidden = [k not in s.panels for k in keys]
    return (*per_panel, hidden, hidden, *[v[k] for k in PAGE_OUTPUTS])


def change_table(df: pd.DataFrame, lang: str) -> html.Table:
    """A plain HTML table: it needs none of the data-table bundles on first load."""
    numeric = {"first", "last", "change", "change_pct"}
    head = html.Thead(html.Tr([html.Th(t(f"table.{c}", lang), scope="col") for c in df.columns]))
    body = html.Tbody([
        html.Tr([html.Td(i18n.number(v, lang, 2 if c == "change_pct" else None) if c in numeric and pd.notna(v)
                         else ("—" if pd.isna(v) else v),
                         className="num" if c in numeric else "date" if c.endswith("date") else None)
                 for c, v in row.items()])
        for row in df.to_dict("records")
    ])
    return html.Table([html.Caption(t("table.caption", lang)), head, body], className="data-table",
                      id="change-table-grid")


def data_table(panel: views.Panel) -> html.Table | html.P:
    """The chart's points as a table (date × series), for screen readers and copying."""
    lang = panel.lang
    if not panel.shown:
        return html.P(t("figure.no_data", lang))
    wide = pd.concat([s.frame.set_index("date")["value"].rename(s.name) for s in panel.shown], axis=1).sort_index()
    head = html.Thead(html.Tr([html.Th(t("table.date", lang), scope="col"),
                               *[html.Th(c, scope="col") for c in wide.columns]]))
    body = html.Tbody([html.Tr([html.Th(i18n.month(d, lang), scope="row"),
                                *[html.Td(i18n.number(x, lang) if pd.notna(x) else "—", className="num") for x in row]])
                       for d, row in zip(wide.index, wide.to_numpy())])
    return html.Table([html.Caption(f"{panel.title} ({panel.y_label})"), head, body], className="data-table")


@callback(Output({"type": "data", "panel": MATCH}, "children"), Input({"type": "data-box", "panel": MATCH}, "open"),
          Input("view-query", "data"), prevent_initial_call=True)
def panel_data(is_open, query):
    """A panel's data table, drawn only while its box is open: a table of every point costs
    more than the chart itself."""
    if not is_open or not isinstance(query, str):
        return dash.no_update
    key = ctx.outputs_list["id"]["panel"]
    s = parse_url(query).state
    if key not in registry().panels:
        return dash.no_update
    return data_table(views.clip_to_zoom([views.build_panel(registry().panels[key], s)], s)[0])


@callback(Output({"type": "ms-pick", "id": ALL}, "className"), Input("hl", "value"), prevent_initial_call=True)
def mark_highlighted(hl):
    """The key marks the highlighted milestone (its buttons are drawn once, with the page)."""
    return ["ms-date" + (" active" if o["id"]["id"] == hl else "") for o in ctx.outputs_list]


@callback(Output("hl", "value"), Input({"type": "ms-pick", "id": ALL}, "n_clicks"), prevent_initial_call=True)
def pick_milestone(clicks):
    if not ctx.triggered_id or not any(c for c in clicks if isinstance(c, int)):
        return dash.no_update
    return ctx.triggered_id["id"]


@callback(Output("download", "data"), Input("dl-csv", "n_clicks"), Input("dl-parquet", "n_clicks"),
          State("view-query", "data"), State("zoom", "data"), prevent_initial_call=True)
def download(_csv, _parquet, query, zoom):
    """Exactly the view's rows, cut to the zoomed range when the reader zoomed."""
    fmt = "parquet" if ctx.triggered_id == "dl-parquet" else "csv"
    content, filename = views.export(parse_url(with_zoom(query, zoom)).state, fmt)
    return dcc.send_bytes(content, filename)


def with_zoom(query, zoom) -> str:
    """The view's query string with the zoomed range (``x0``/``x1``) put in or taken out."""
    params = dict(parse_qsl(str(query or "").lstrip("?")))
    params.pop("x0", None), params.pop("x1", None)
    if isinstance(zoom, dict) and zoom.get("x0") and zoom.get("x1"):
        params.update(x0=str(zoom["x0"])[:10], x1=str(zoom["x1"])[:10])
    return urlencode(params)


components.keep_url_in_step("view-query")

# Zoom or pan one panel and the others follow; the range goes to the URL, the permalink and the
# zoom store that the download and the next render read (assets/sync.js). All in the browser: a
# server callback on relayoutData would run for every autosize event of every chart.
clientside_callback(
    dash.ClientsideFunction("xborder", "syncZoom"),
    Output("zoom", "data"),
    Input({"type": "fig", "panel": ALL}, "relayoutData"),
    State("zoom", "data"),
    prevent_initial_call=True,
)


clientside_callback(
    dash.ClientsideFunction("xborder", "indexAtDisabled"),
    Output("index-at", "disabled"),
    Input("transform", "value"),
)
