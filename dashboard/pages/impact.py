"""Impact: did a series change after a milestone? The answer first, in one sentence, then the
model, placebo dates, the synthetic control (states), a cross-correlation view and Mexico's
source discrepancy. Every word comes from the catalog (impact.po, analysis.po), in English or
Spanish (``?lang=es``); every choice comes from metadata (``dashboard/impact_defaults.toml``)."""

from __future__ import annotations

from urllib.parse import urlencode

import dash
import flask
from dash import Input, Output, State, callback, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import components, impact, response_cache, store
from dashboard.analysis import AnalysisError
from dashboard.i18n import DEFAULT_LANG, LANGS, PLOTLY_LOCALES, best_lang, day, number, t

dash.register_page(__name__, path="/impact", name="Impact", title=components.page_title("impact.page_title"))

PARAMS = ("series", "geo", "milestone", "window", "gap", "x", "y", "lang")


def _page_defaults() -> dict:
    d = impact.defaults()["page"]
    return {k: str(v) for k, v in d.items()}


def _choices() -> dict:
    c = impact.defaults()["controls"]
    return {"window": [str(w) for w in c["windows"]], "gap": [str(g) for g in c["gaps"]]}


def _lang(query: dict) -> str:
    lang = query.get("lang")
    if lang in LANGS:
        return lang
    if flask.has_request_context():
        return best_lang(flask.request.headers.get("Accept-Language"))
    return DEFAULT_LANG


def parse(query: dict) -> tuple[dict, list[str]]:
    """Query parameters -> valid selection; anything invalid falls back with a notice (in the
    reader's language). Older links' short series names keep working (``[aliases]``)."""
    lang = _lang(query)
    defaults = _page_defaults()
    ms_ids = set(store.milestones()["id"])
    choices = _choices()
    checks = {
        "series": impact.resolve_series, "x": impact.resolve_series, "y": impact.resolve_series,
        "milestone": lambda v: v if v in ms_ids else None,
        "window": lambda v: v if v in choices["window"] else None,
        "gap": lambda v: v if v in choices["gap"] else None,
        "lang": lambda v: v if v in LANGS else None,
    }
    out, notes = dict(defaults, lang=lang), []
    for key, value in query.items():
        if key == "geo":
            continue
        value = str(value)
        good = checks[key](value) if key in checks else None
        if good is None:
            shown = defaults.get(key, "—")
            if key in ("series", "x", "y"):
                shown = impact.series_label(shown, lang)
            notes.append(t("impact.notice.bad_param", lang, key=key, value=value[:40], default=shown))
        else:
            out[key] = good
    fallback = impact.default_geo(out["series"])
    geo = str(query.get("geo", fallback))
    if geo not in {c for c, _ in impact.geo_options(out["series"], lang)}:
        if "geo" in query:
            notes.append(t("impact.notice.bad_geo", lang, geo=geo[:20], default=impact.geo_label(fallback, lang)))
        geo = fallback
    out["geo"] = geo
    return out, notes


def _str_in(value, options) -> bool:
    """A callback payload can be forged with any JSON (list, dict, number, bool): only a string
    among the offered choices is used, so a membership test never raises (unhashable) a 500."""
    return isinstance(value, str) and value in options


def _checked(values: dict, lang) -> tuple[dict, list[str]]:
    """Callback values -> the selection ``parse`` makes of the same URL parameters: defaults for
    the bad ones, with their notices, and ``lang``. ``parse`` compares each value's text with the
    choices, so a list, dict or bool is never one (and a window of 12 is "12"). The page always
    posts its language; a payload without a valid one gets the default, never the request's
    Accept-Language: a callback's answer depends on its body alone (dashboard/response_cache.py)."""
    return parse({**values, "lang": lang if _str_in(lang, LANGS) else DEFAULT_LANG})


def _series_options(lang: str) -> list[dict]:
    return [{"label": impact.series_label(sid, lang), "value": sid} for sid in impact.series_choices()]


def _control(label_key: str, lang: str, component) -> html.Div:
    return html.Div([html.Label(t(label_key, lang), className="ctl-label", htmlFor=component.id), component],
                    className="ctl")


def _graph(gid: str, lang: str, **kw) -> dcc.Graph:
    return dcc.Graph(id=gid, config={"locale": PLOTLY_LOCALES[lang], "displaylogo": False}, **kw)


@components.data_guard
def layout(**query) -> html.Div:
    sel, notes = parse(query)
    lang = sel["lang"]
    ms = store.milestones()
    series_opts = _series_options(lang)
    title = "title_es" if lang == "es" else "title_en"
    choices = _choices()
    return html.Div([
        dcc.Store(id="impact-query"), dcc.Store(id="imp-lang", data=lang),
        components.notices(notes, "warning", lang),
        html.H2(t("impact.page_title", lang)),
        html.P(t("impact.lede", lang), className="lede"),
        html.Div([
            _control("impact.ctl.series", lang, dcc.Dropdown(id="imp-series", options=series_opts, value=sel["series"],
                                                             clearable=False)),
            _control("impact.ctl.geo", lang, dcc.Dropdown(id="imp-geo", value=sel["geo"], clearable=False,
                                                          options=[{"label": n, "value": c} for c, n in
                                                                   impact.geo_options(sel["series"], lang)])),
            _control("impact.ctl.milestone", lang, dcc.Dropdown(
                id="imp-milestone", value=sel["milestone"], clearable=False,
                options=[{"label": f"{day(m.date, lang)} — {getattr(m, title)}", "value": m.id}
                         for m in ms.itertuples()])),
            _control("impact.ctl.window", lang, dcc.Dropdown(id="imp-window", value=sel["window"], clearable=False,
                                                             options=choices["window"])),
            _control("impact.ctl.gap", lang, dcc.Dropdown(id="imp-gap", value=sel["gap"], clearable=False,
                                                          options=choices["gap"])),
        ], className="impact-controls"),
        html.Div([
            html.H3(t("impact.heading.verdict", lang)),
            html.P(id="imp-verdict", className="verdict"),
            dcc.Loading(_graph("imp-figure", lang)),
            html.Div(id="imp-table"),  # its heading comes with it: none over an analysis that failed
            html.Div(id="imp-placebo"),
            html.Div(id="imp-synth"),
            html.Div(id="imp-caveats", className="panel-notes"),
            html.Div(id="imp-prov"),
        ], className="panel"),
        html.H3(t("impact.heading.xcorr", lang)),
        html.Div([
            _control("impact.ctl.x", lang, dcc.Dropdown(id="xc-x", options=series_opts, value=sel["x"], clearable=False)),
            _control("impact.ctl.y", lang, dcc.Dropdown(id="xc-y", options=series_opts, value=sel["y"], clearable=False)),
        ], className="impact-controls"),
        html.Div([_graph("xc-figure", lang), html.P(t("impact.xcorr.bands", lang), className="fig-note"),
                  html.P(id="xc-reading", className="verdict"), html.Div(id="xc-warnings", className="panel-notes")],
                 className="panel"),
        html.H3(t("impact.heading.disc", lang)),
        html.Div(discrepancy_section(lang), className="panel"),
    ])


def discrepancy_section(lang: str) -> list:
    fig, table, notes = impact.discrepancy(lang)
    source_ids = sorted({impact.series_choices()[s].source_id for s in impact.defaults()["discrepancy"].values()})
    flagged = t("impact.disc.flagged", lang, n=str(table["state"].nunique()))
    return [
        _graph("disc-figure", lang, figure=fig),
        html.H4(flagged),
        components.frame_table(table, {c: t(f"impact.disc.col.{c}", lang) for c in table.columns},
                               table_id="disc-table", label=flagged,
                               numeric=("year", "inegi", "sesnsp", "ratio", "ratio_change"), compact=True),
        components.notices(notes, lang=lang),
        components.provenance_line(source_ids, lang),
    ]


@callback(Output("imp-geo", "options"), Output("imp-geo", "value"), Input("imp-series", "value"),
          State("imp-geo", "value"), State("imp-lang", "data"))
def geo_options(series_id, geo, lang):
    # A forged payload can carry any JSON here (a list, a number): only an offered series id is
    # looked up, so a bad one leaves the list as it is instead of costing a 500.
    if not _str_in(series_id, impact.series_choices()):
        raise PreventUpdate
    lang = lang if _str_in(lang, LANGS) else DEFAULT_LANG
    options = [{"label": n, "value": c} for c, n in impact.geo_options(series_id, lang)]
    valid = {o["value"] for o in options}
    return options, geo if _str_in(geo, valid) else impact.default_geo(series_id)


def _results_table(frame, lang: str) -> list:
    heading = t("impact.heading.numbers", lang)
    return [html.H4(heading),
            components.frame_table(frame, impact.table_headers(lang), table_id="imp-results", label=heading,
                                   numeric=("estimate", "interval", "p"))]


def _synth_block(result, lang: str):
    if result.synth is None:
        return None
    s = result.synth
    weights = impact.synth_weights(result, lang)
    return html.Div([
        html.H4(t("impact.heading.synth", lang)),
        _graph("imp-synth-figure", lang, figure=impact.synth_figure(result, lang)),
        html.H4(t("impact.heading.weights", lang)),
        html.P(t("impact.synth.pool", lang, n=str(len(s.donors)), rmspe=number(s.pre_rmspe, lang, 1))),
        components.frame_table(weights, {c: t(f"impact.synth.col.{c}", lang) for c in weights.columns},
                               table_id="imp-weights", label=t("impact.heading.weights", lang), numeric=("weight",),
                               compact=True),
    ])


@callback(Output("imp-verdict", "children"), Output("imp-figure", "figure"), Output("imp-table", "children"),
          Output("imp-placebo", "children"), Output("imp-synth", "children"), Output("imp-caveats", "children"),
          Output("imp-prov", "children"), Output("impact-query", "data"),
          Input("imp-series", "value"), Input("imp-geo", "value"), Input("imp-milestone", "value"),
          Input("imp-window", "value"), Input("imp-gap", "value"), Input("xc-x", "value"), Input("xc-y", "value"),
          State("imp-lang", "data"))
@response_cache.cacheable_response  # reads nothing but the controls Dash posts
def update_impact(series_id, geo, milestone, window, gap, x_id, y_id, lang):
    # The controls' values are checked as the URL's are (a forged payload can send a list, a
    # number or an unknown id): a bad one falls back to its default with a notice, never a 500.
    sel, notes = _checked({"series": series_id, "geo": geo, "milestone": milestone, "window": window, "gap": gap,
                           "x": x_id, "y": y_id}, lang)
    lang = sel.pop("lang")
    query = "?" + urlencode({**sel, **({"lang": lang} if lang != DEFAULT_LANG else {})})
    series_id, geo = sel["series"], sel["geo"]
    notice = components.notices(notes, "warning", lang) if notes else None
    source_id = impact.series_choices()[series_id].source_id
    prov = components.provenance_line([source_id], lang)
    try:
        result = impact.run(series_id, geo, sel["milestone"], int(sel["window"]), int(sel["gap"]))
    except (AnalysisError, ValueError) as exc:  # e.g. milestone outside the series' dates, too few points
        msg = t("impact.error.cannot_analyse", lang, detail=impact.error_text(exc, lang))
        empty = {"data": [], "layout": {"height": 120, "xaxis": {"visible": False}, "yaxis": {"visible": False}}}
        return msg, empty, None, None, None, notice, prov, query
    placebo = html.Div([
        html.H4(t("impact.heading.placebo", lang)),
        _graph("imp-placebo-figure", lang, figure=impact.placebo_figure(result, lang)),
    ]) if result.placebo.n_placebos else None
    caveats = html.Div([notice, html.H4(t("impact.heading.caveats", lang)),
                        html.Ul([html.Li(c) for c in impact.caveats(result, lang)]),
                        html.P(t("impact.caveat.model", lang), className="fig-note")])
    return (impact.verdict_text(result, lang), impact.impact_figure(result, lang),
            _results_table(impact.results_table(result, lang), lang), placebo, _synth_block(result, lang),
            caveats, prov, query)


@callback(Output("xc-figure", "figure"), Output("xc-reading", "children"), Output("xc-warnings", "children"),
          Input("xc-x", "value"), Input("xc-y", "value"), State("imp-lang", "data"))
@response_cache.cacheable_response  # reads nothing but the controls Dash posts
def update_xcorr(x_id, y_id, lang):
    # Checked as the URL's x and y are: a forged value falls back to the default with a notice.
    sel, notes = _checked({"x": x_id, "y": y_id}, lang)
    x_id, y_id, lang = sel["x"], sel["y"], sel["lang"]
    notice = components.notices(notes, "warning", lang) if notes else None
    try:
        fig, warnings, reading = impact.xcorr(x_id, impact.default_geo(x_id), y_id, impact.default_geo(y_id), lang)
    except (AnalysisError, ValueError) as exc:
        return {"data": [], "layout": {"height": 120}}, t("impact.xcorr.cannot", lang,
                                                          detail=impact.error_text(exc, lang)), notice
    shown = components.notices(warnings, lang=lang)
    return fig, reading, html.Div([notice, shown]) if notice else shown


components.keep_url_in_step("impact-query")
