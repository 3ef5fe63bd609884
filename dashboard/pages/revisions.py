"""Revisions: how CDC's provisional overdose counts were revised from one data vintage to the
next, and the series exactly as it was known on a chosen date."""

from __future__ import annotations

from urllib.parse import parse_qs, urlencode, urlparse

import dash
import flask
import pandas as pd
from dash import Input, Output, State, callback, ctx, dcc, html
from dash.exceptions import PreventUpdate

from dashboard import components, i18n, revisions, store
from dashboard.i18n import LANGS, month, number, t
from dashboard.state import check_params, is_date


def _title(**_path) -> str:
    """The <title>, in the language of the page URL (the referrer of the callback that asks)."""
    ref = parse_qs(urlparse(flask.request.referrer or "").query) if flask.has_request_context() else {}
    return t("revisions.page_title", components.page_lang({"lang": ref.get("lang")}))


dash.register_page(__name__, path="/revisions", name="Revisions", title=_title)


def defaults() -> dict:
    return {"series": "all_drugs", "geo": "US", "as_of": revisions.vintages()[-1]}


def parse(query: dict) -> tuple[dict, list[tuple[str, dict]]]:
    """Query parameters -> valid selection; anything invalid falls back with a notice (a catalog
    key and its parameters). ``lang`` is read by the layout."""
    checks = {"series": lambda v: v in revisions.series_keys(), "geo": lambda v: v in store.valid_geos()["us"],
              "as_of": is_date, "lang": lambda v: v in LANGS}
    sel, notes = check_params(query, checks, {**defaults(), "lang": ""})
    sel.pop("lang")
    return sel, notes


def _str_in(value, options) -> bool:
    """A callback payload can be forged with any JSON (list, dict, number): only a string among
    the offered choices is used, so a membership test never raises (unhashable) a 500."""
    return isinstance(value, str) and value in options


def _lang(lang) -> str:
    return lang if _str_in(lang, LANGS) else "en"


def _geo_options(lang: str) -> list[dict]:
    codes = store.geo_codes()["us"]
    first, rest = list(codes[:1]), sorted(codes[1:], key=lambda c: store.geo_name(c, lang))
    return [{"label": store.geo_name(c, lang), "value": c} for c in first + rest]


@components.data_guard
def layout(**query) -> html.Div:
    lang = components.page_lang(query)
    sel, notes = parse(query)
    vintage_opts = [{"label": t("revisions.vintage_option", lang, vintage=v), "value": v} for v in revisions.vintages()]
    return html.Div([
        dcc.Store(id="revisions-query"), dcc.Store(id="revisions-lang", data=lang),
        components.notices([t(key, lang, **params) for key, params in notes], "warning"),
        html.H2(t("revisions.heading", lang)),
        html.P(t("revisions.lede", lang), className="lede"),
        html.Div([
            html.Div([html.Label(t("revisions.control.series", lang), htmlFor="rev-series", className="ctl-label"),
                      dcc.Dropdown(id="rev-series", value=sel["series"], clearable=False,
                                   options=series_options(sel["geo"], lang))], className="ctl"),
            html.Div([html.Label(t("revisions.control.geo", lang), htmlFor="rev-geo", className="ctl-label"),
                      dcc.Dropdown(id="rev-geo", value=sel["geo"], clearable=False, options=_geo_options(lang))],
                     className="ctl"),
            html.Div([html.Label(t("revisions.control.vintage", lang), htmlFor="rev-asof", className="ctl-label"),
                      dcc.Dropdown(id="rev-asof", options=vintage_opts, clearable=False, searchable=False,
                                   placeholder=t("revisions.control.vintage_placeholder", lang),
                                   value=sel["as_of"] if sel["as_of"] in revisions.vintages() else None)],
                     className="ctl"),
            html.Div([html.Label(t("revisions.control.date", lang), htmlFor="rev-asof-date", className="ctl-label"),
                      dcc.DatePickerSingle(id="rev-asof-date", date=sel["as_of"], display_format="YYYY-MM-DD",
                                           placeholder=t("revisions.control.date_placeholder", lang),
                                           first_day_of_week=1 if lang == "es" else 0)],
                     className="ctl"),
        ], className="impact-controls"),
        html.Section([dcc.Loading(dcc.Graph(id="rev-figure", config={"displaylogo": False, "locale": i18n.PLOTLY_LOCALES[lang]})),
                      html.P(id="rev-summary", className="rev-summary", **{"aria-live": "polite"}),
                      html.Div(id="rev-asof-note"), html.Div(id="rev-notes"),
                      components.provenance_line([revisions.SOURCE], lang),
                      html.P(t("revisions.caveat", lang), className="rev-caveat")],
                     className="panel", id="charts", **{"aria-label": t("revisions.chart_label", lang)}),
        html.H3(t("revisions.table_heading", lang), id="rev-table-heading"),
        html.Div(id="rev-table", className="panel table-scroll rev-table", tabIndex=0, role="region",
                 **{"aria-labelledby": "rev-table-heading"}),
    ], lang=lang)


def table_component(table: pd.DataFrame, lang: str) -> html.Table:
    """Newest month first: the value in each vintage, the total revision and its percentage."""
    table = table.sort_values("date", ascending=False)
    vintage_cols = [c for c in table if c.startswith("as of ")]
    head = [t("revisions.table.month", lang)]
    head += [t("revisions.table.vintage", lang, vintage=c.removeprefix("as of ")) for c in vintage_cols]
    head += [t("revisions.table.revision", lang), t("revisions.table.pct", lang)]

    def cell(v, fmt=lambda x: number(x, lang, 0)):
        return html.Td("—" if pd.isna(v) else fmt(v), className="num")

    rows = [html.Tr([html.Th(month(r["date"], lang), scope="row"), *[cell(r[c]) for c in vintage_cols],
                     cell(r["revision"], lambda x: i18n.signed_number(x, lang, 0)),
                     cell(r["pct_revision"], lambda x: i18n.signed_percent(x / 100, lang, 1))])
            for r in table.to_dict("records")]
    return html.Table([
        html.Caption(t("revisions.table.caption", lang)),
        html.Thead(html.Tr([html.Th(h, scope="col", className=None if i == 0 else "num") for i, h in enumerate(head)])),
        html.Tbody(rows)], id="rev-results", className="data-table")


@callback(Output("rev-series", "options"), Input("rev-geo", "value"), State("revisions-lang", "data"))
def series_options(geo, lang="en"):
    # only a geography the page offers is compared with the data's column (a forged list is not)
    if not _str_in(geo, store.valid_geos()["us"]):
        raise PreventUpdate
    lang = _lang(lang)
    counts = revisions.vintage_counts(geo)

    def label(key, title):
        n = counts.get(key, 0)
        which = "many" if n > 1 else "one" if n == 1 else "none"
        return t(f"revisions.option.{which}", lang, title=title, n=str(n))
    return [{"label": label(k, title), "value": k} for k, title in revisions.series_keys(lang).items()]


@callback(Output("rev-asof", "value"), Output("rev-asof-date", "date"),
          Input("rev-asof", "value"), Input("rev-asof-date", "date"), prevent_initial_call=True)
def sync_as_of(vintage, date):
    # strings only: a forged vintage or date (a dict, a number) must not be sliced or looked up
    if ctx.triggered_id == "rev-asof":
        return dash.no_update, vintage if _str_in(vintage, revisions.vintages()) else dash.no_update
    date = date[:10] if isinstance(date, str) else ""
    return (date if date in revisions.vintages() else None), dash.no_update


@callback(Output("rev-figure", "figure"), Output("rev-summary", "children"), Output("rev-asof-note", "children"),
          Output("rev-notes", "children"), Output("rev-table", "children"), Output("revisions-query", "data"),
          Input("rev-series", "value"), Input("rev-geo", "value"), Input("rev-asof-date", "date"),
          State("revisions-lang", "data"))
def update(series_key, geo, as_of, lang):
    if not (_str_in(series_key, revisions.series_keys()) and _str_in(geo, store.valid_geos()["us"])):
        raise PreventUpdate
    lang = _lang(lang)
    # The date picker sends "YYYY-MM-DD" (maybe with a time) or nothing; anything else (a forged
    # list, a non-date) falls back to the latest vintage with a notice instead of a 500.
    bad = []
    if as_of and not (isinstance(as_of, str) and is_date(as_of[:10])):
        bad = [t("notice.bad_param", lang, param="as_of", value=str(as_of)[:40], default=defaults()["as_of"])]
        as_of = None
    as_of = (as_of or defaults()["as_of"])[:10]
    r = revisions.build(series_key, geo, as_of, lang)
    note = components.notices([r.as_of.message], "warning" if r.as_of.vintage is None else "info")
    table = table_component(r.table, lang) if len(r.table) else html.P(t("revisions.table.empty", lang))
    params = {"series": series_key, "geo": geo, "as_of": as_of, **({"lang": lang} if lang != "en" else {})}
    return r.figure, r.summary, note, components.notices(bad + r.notes, "warning"), table, "?" + urlencode(params)


components.keep_url_in_step("revisions-query")
