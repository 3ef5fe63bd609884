"""Create the Dash app: Pages, shared chrome in the reader's language, no data read at import time."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl, urlencode, urlsplit

import dash
import flask
from dash import Dash, dcc, html

from dashboard import i18n
from dashboard.i18n import t

PLOTLY_BASIC = "plotly-basic-4.1.1.min.js"
PLOTLY_LOCALE_ES = "plotly-locale-es-4.1.1.js"
PLOTLY_LOCALE_ES_MX = "plotly-locale-es-mx.js"  # ours: the dates as the text writes them
NAV = (("nav.timeline", "/"), ("nav.impact", "/impact"), ("nav.revisions", "/revisions"), ("nav.maps", "/maps"),
       ("nav.sources", "/sources"))
FULL_RELOAD = {"/maps"}  # pages that need the full plotly.js bundle: plain links reload the page


def page_url() -> tuple[str, dict]:
    """The path and query of the page being served. Dash fetches a layout function's result from
    ``/_dash-layout``, whose Referer is the page itself."""
    try:
        req = flask.request
    except RuntimeError:
        return "/", {}
    if req.path.startswith("/_dash") and req.referrer:
        ref = urlsplit(req.referrer)
        return ref.path or "/", dict(parse_qsl(ref.query))
    return req.path, dict(parse_qsl(req.query_string.decode("utf-8", "replace")))


def request_lang() -> str:
    """The language of the page being served: ``?lang=``, else the browser's Accept-Language."""
    lang = page_url()[1].get("lang")
    if lang in i18n.LANGS:
        return lang
    try:
        return i18n.best_lang(flask.request.headers.get("Accept-Language"))
    except RuntimeError:
        return i18n.DEFAULT_LANG


class XborderDash(Dash):
    def interpolate_index(self, **kwargs):
        """``<html lang>`` and the plotly locale follow the reader's language."""
        page = super().interpolate_index(**kwargs)
        lang = request_lang()
        page = page.replace("<html>", f'<html lang="{lang}">', 1)
        return page


def header(lang: str) -> html.Header:
    other = "es" if lang == "en" else "en"
    path, args = page_url()
    # The same view in the other language (assets/sync.js rewrites it at click time, so a view
    # changed since the page loaded is kept too).
    switch_href = f"{path}?{urlencode({**args, 'lang': other})}"

    def link(key: str, href: str):
        target = f"{href}?lang={lang}"
        if href in FULL_RELOAD:
            return html.A(t(key, lang), href=target, className="nav-link")
        return dcc.Link(t(key, lang), href=target, className="nav-link")

    return html.Header([
        html.A(t("nav.skip", lang), href="#charts", className="skip-link"),
        html.Div([html.Span("⟷", className="logo", **{"aria-hidden": "true"}),
                  html.Span(t("app.title", lang), className="brand")], className="brand-box"),
        html.Nav([link(k, h) for k, h in NAV], **{"aria-label": t("nav.label", lang)}),
        html.A(t("lang.switch", lang), href=switch_href, className="lang-switch", id="lang-switch",
               hrefLang=other, lang=other, title=t("lang.switch_title", lang)),
    ], className="topbar")


def shell() -> html.Div:
    """The chrome around every page; a function, so it is built per request in its language."""
    lang = request_lang()
    if page_url()[0].rstrip("/") == "/embed":  # an iframe in someone's article: the chart alone, no navigation
        return html.Main(dash.page_container, className="embed-shell", id="main")
    return html.Div([
        header(lang),
        html.Main(dash.page_container, className="page", id="main"),
        html.Footer(t("footer.text", lang), className="footer"),
    ])


def create_app() -> Dash:
    app = XborderDash(
        "dashboard",  # pages load as dashboard.pages.*: importing one elsewhere reuses the same module
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(Path(__file__).parent / "assets"),
        title=t("app.title", "en"),
        suppress_callback_exceptions=True,
        update_title=None,
        assets_ignore=r"^plotly-",  # (matched on file names) served, but not on every page: see below
    )
    # plotly.js is most of a cold page load (~1 s to evaluate the full 4.8 MB bundle here). Pages
    # that draw only scatter and bar traces get the 1.2 MB "basic" bundle, loaded before Dash
    # renders, so the Graph component finds window.Plotly and never fetches the full one. The
    # Maps page (choropleths) is left to the full bundle; its nav link reloads the page. The
    # Spanish locale registers itself with whichever bundle loads (window.PlotlyLocales).
    basic = app.get_asset_url(f"vendor/{PLOTLY_BASIC}")
    locale_es = app.get_asset_url(f"vendor/{PLOTLY_LOCALE_ES}")
    # ours has no version in its name: fingerprinted as Dash does its assets (?m=<mtime>), so
    # browsers and the serving edge may keep it (server.FINGERPRINTED_PATH)
    mtime = (Path(__file__).parent / "assets" / PLOTLY_LOCALE_ES_MX).stat().st_mtime
    locale_es_mx = app.get_asset_url(PLOTLY_LOCALE_ES_MX) + f"?m={mtime}"
    app.index_string = app.index_string.replace(
        "{%metas%}",
        "{%metas%}<script>if (!/\\/maps\\/?$/.test(location.pathname)) "
        f"document.write('<script src=\"{basic}\"><\\/script>');</script>"
        f"<script src=\"{locale_es}\"></script><script src=\"{locale_es_mx}\"></script>",
        1,
    )
    app.layout = shell
    __import__("dashboard.server").server.harden(app)  # limits, health, headers, compression (last)
    return app
