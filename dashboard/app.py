"""Create the Dash app: Pages, shared chrome, no data read at import time."""

from __future__ import annotations

from pathlib import Path

import dash
from dash import Dash, dcc, html

TITLE = "US–Mexico Cross-Border Statistics"


def create_app() -> Dash:
    app = Dash(
        "dashboard",  # pages load as dashboard.pages.*: importing one elsewhere reuses the same module
        use_pages=True,
        pages_folder=str(Path(__file__).parent / "pages"),
        assets_folder=str(Path(__file__).parent / "assets"),
        title=TITLE,
        suppress_callback_exceptions=True,
        update_title=None,
    )
    app.layout = html.Div(
        [
            html.Header(
                [
                    html.Div([html.Span("⟷", className="logo"), html.Span(TITLE, className="brand")]),
                    html.Nav([
                        dcc.Link("Timeline", href="/", className="nav-link"),
                        dcc.Link("Impact", href="/impact", className="nav-link"),
                        dcc.Link("Maps", href="/maps", className="nav-link"),
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
