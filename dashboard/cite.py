"""Cite this view: a permalink, the data version, a citation line and a notebook snippet.

``view_data`` and ``view_figures`` are what the snippet calls: the same code path as the
dashboard's callback, so a notebook gets exactly the rows of the view's CSV download.
"""

from __future__ import annotations

from datetime import date

import pandas as pd
import plotly.graph_objects as go

from dashboard import store, views
from dashboard.state import ViewState, parse_query


def _state(query: str) -> ViewState:
    parsed = parse_query(query, store.valid_geos(), set(store.milestones()["id"]))
    if parsed.notices:
        raise ValueError("; ".join(parsed.notices))
    return parsed.state


def view_data(query: str = "") -> pd.DataFrame:
    """The rows of the view's CSV download, for a dashboard query string such as
    ``"?us_geo=US-AZ&transform=per100k"``."""
    return views.displayed_data(views.build_panels(_state(query)))


def view_figures(query: str = "") -> list[go.Figure]:
    """The view's three timeline panels as plotly figures."""
    state = _state(query)
    panels = views.build_panels(state)
    x_range = views.x_range(state, panels)
    return [go.Figure(views.panel_figure(p, state, x_range)[0]) for p in panels]


def citation(state: ViewState, panels: list[views.Panel], base_url: str) -> dict:
    from dashboard.state import to_query

    sources = sorted({sid for p in panels for sid in p.sources})
    publishers = "; ".join(store.provenance(sid)["publisher"] for sid in sources)
    version = store.data_version(sources)
    permalink = f"{base_url}/{to_query(state)}"
    text = (f"US–Mexico Cross-Border Statistics dashboard, view of {date.today():%d %B %Y}, data version "
            f"{version}. Data: {publishers}. {permalink}")
    return {"permalink": permalink, "version": version, "text": text,
            "snapshots": {sid: store.provenance(sid)["snapshot"] for sid in sources}}


def snippet(query: str) -> str:
    return (
        "from dashboard.cite import view_data, view_figures\n\n"
        f"query = {query!r}\n"
        "df = view_data(query)          # the rows of this view's CSV download\n"
        "for fig in view_figures(query):  # deaths, homicides, seizures\n"
        "    fig.show()\n"
    )
