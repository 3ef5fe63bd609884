"""Create the Dash app: Pages, shared chrome, no data read at import time."""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html

TITLE = "US–Mexico Cross-Border Statistics"
PLOTLY_BASIC = "plotly-basic-4.1.1.min.js"


def create_app() -> Dash:
    app = Dash(
        "dashboard",  # pages load as dashboard.pages.*: importing one elsewhere reuses the same module
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(Path(__file__).parent / "assets"),
        title=TITLE,
        suppress_callback_exceptions=True,
        update_title=None,
        assets_ignore=r"^plotly-basic",  # (matched on file names) served, but not on every page: see below
    )
    # plotly.js is most of a cold page load (~1 s to evaluate the full 4.8 MB bundle here). Pages
    # that draw only scatter and bar traces get the 1.2 MB "basic" bundle, loaded before Dash
    # renders, so the Graph component finds window.Plotly and never fetches the full one. The
    # Maps page (choropleths) is left to the full bundle; its nav link reloads the page.
    basic = app.get_asset_url(f"vendor/{PLOTLY_BASIC}")
    app.index_string = app.index_string.replace(
        "{%metas%}",
        "{%metas%}<script>if (!/\\/maps\\/?$/.test(location.pathname)) "
        f"document.write('<script src=\"{basic}\"><\\/script>');</script>",
        1,
    )
    app.layout = html.Div(
        [
            html.Header(
                [
                    html.Div([html.Span("⟷", className="logo"), html.Span(TITLE, className="brand")]),
                    html.Nav([
                        dcc.Link("Timeline", href="/", className="nav-link"),
                        dcc.Link("Impact", href="/impact", className="nav-link"),
                        dcc.Link("Revisions", href="/revisions", className="nav-link"),
                        html.A("Maps", href="/maps", className="nav-link"),  # full reload: full plotly.js
                        dcc.Link("Sources", href="/sources", className="nav-link"),
                    ]),
                ],
                className="topbar",
            ),
            html.Main(dash.page_container, className="page"),
            html.Footer(
                "Data: CDC/NCHS, SESNSP, INEGI, U.S. CBP, U.S. Census Bureau, CONAPO (see Sources for licenses "
                "and snapshots). Every number comes from a dated snapshot of the publisher's file.",
                className="footer",
            ),
        ]
    )
    return app
