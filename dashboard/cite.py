"""Cite this view: a permalink, the data version, a citation line and a notebook snippet.

``view_data`` and ``view_figures`` are what the snippet calls: the same code path as the
dashboard's callback, so a notebook gets exactly the rows of the view's CSV download.
"""

from __future__ import annotations

import os
from datetime import date

import pandas as pd
import plotly.graph_objects as go

from dashboard import i18n, store, views
from dashboard.registry import registry
from dashboard.state import ViewState, parse_query, to_query

PUBLIC_BASE_URL_ENV = "PUBLIC_BASE_URL"
LOCAL_BASE_URL = "http://127.0.0.1:8050"


def _state(query: str) -> ViewState:
    from dashboard.pages.home import geo_choices

    parsed = parse_query(query, registry(), geo_choices(), set(store.milestones()["id"]))
    if parsed.notices:
        raise ValueError("; ".join(i18n.t(k, "en", **p) for k, p in parsed.notices))
    return parsed.state


def view_data(query: str = "") -> pd.DataFrame:
    """The rows of the view's CSV download, for a dashboard query string such as
    ``"?us_geo=US-AZ&transform=per100k"``."""
    state = _state(query)
    return views.displayed_data(views.clip_to_zoom(views.build_panels(state), state))


def view_figures(query: str = "") -> list[go.Figure]:
    """The view's timeline panels as plotly figures."""
    state = _state(query)
    panels = views.build_panels(state)
    x_range = views.x_range(state, panels)
    return [go.Figure(views.panel_figure(p, state, x_range)[0]) for p in panels]


def base_url() -> str:
    """Where permalinks point: the configured public address (``PUBLIC_BASE_URL``), never the
    Host header a client sent; the local address when nothing is configured."""
    try:
        from dashboard import server

        return server.public_base_url()
    except (ImportError, AttributeError):
        return (os.environ.get(PUBLIC_BASE_URL_ENV) or LOCAL_BASE_URL).rstrip("/")


def citation(state: ViewState, panels: list[views.Panel], base: str) -> dict:
    lang = state.lang
    sources = sorted({sid for p in panels for sid in p.sources})
    # One publisher behind several sources (SESNSP: homicides, federal cases, incidence) is named once.
    publishers = "; ".join(dict.fromkeys(store.publisher(sid, lang) for sid in sources))
    version = store.data_version(sources)
    permalink = f"{base}/{to_query(state, registry())}"
    text = i18n.t("cite.text", lang, day=i18n.day(date.today(), lang), version=version, publishers=publishers,
                  permalink=permalink)
    return {"permalink": permalink, "version": version, "text": text,
            "snapshots": {sid: store.provenance(sid)["snapshot"] for sid in sources}}


def snippet(query: str, lang: str = "en") -> str:
    """Python that loads this view's rows and figures, its comments in the reader's language."""
    return (
        "from dashboard.cite import view_data, view_figures\n\n"
        f"query = {query!r}\n"
        f"df = view_data(query)  # {i18n.t('cite.snippet.rows', lang)}\n"
        f"for fig in view_figures(query):  # {i18n.t('cite.snippet.figures', lang)}\n"
        "    fig.show()\n"
    )
