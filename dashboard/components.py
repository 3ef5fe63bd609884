"""Small layout pieces shared by pages: provenance lines, notices, milestone list."""

from __future__ import annotations

import pandas as pd
import functools
import logging

from dash import ClientsideFunction, Input, Output, clientside_callback, html

from dashboard import store


def provenance_line(source_ids: list[str]) -> html.Div:
    """Publisher, license, period, snapshot and fetch dates, and a stale badge, per source."""
    items = []
    for sid in source_ids:
        p = store.provenance(sid)
        published = f" · published {p['published_at']}" if p["published_at"] else ""
        items.append(html.Div([
            html.A(p["publisher"], href=p["landing_url"], target="_blank", rel="noopener"),
            f" — {p['title']} · {p['license']} · covers {p['period']} · snapshot {p['snapshot']}"
            f"{published} · {'seed copy made' if p['origin'] == 'seed' else 'fetched'} {p['fetched_at'] or 'n/a'}",
            html.Span("stale", className="badge stale",
                      title=f"Snapshot {p['snapshot']} is {p['age_days']} days old, more than 1.5× the publisher's "
                            f"{p['cadence']} cadence: refresh with python -m etl run")
            if p["stale"] else None,
        ], className="prov-item"))
    return html.Div(items, className="provenance")


def notices(messages: list[str], kind: str = "info") -> html.Div:
    return html.Div([html.Div(m, className=f"notice {kind}") for m in messages])


def milestone_list(ms: pd.DataFrame, categories: tuple[str, ...], highlight: str, lang: str = "en") -> html.Ul:
    """Each milestone links to its citation; the button highlights it on every panel."""
    items = []
    for m in ms[ms["category"].isin(categories)].itertuples():
        items.append(html.Li([
            html.Button(
                f"{m.date:%Y-%m-%d}", id={"type": "ms-pick", "id": m.id}, n_clicks=0,
                className="ms-date" + (" active" if m.id == highlight else ""), title="Highlight on all charts",
            ),
            html.Span(f" {m.title_es if lang == 'es' else m.title_en} ", className="ms-title"),
            html.Span(m.category, className=f"tag tag-{m.category}"),
            " ",
            html.A("source ↗", href=m.source_url, target="_blank", rel="noopener", className="ms-cite"),
        ], className="ms-item"))
    return html.Ul(items, className="ms-list")


def cite_block(citation: dict, snippet: str) -> html.Div:
    snaps = ", ".join(f"{k} {v}" for k, v in citation["snapshots"].items())
    return html.Div([
        html.P(["Permalink: ", html.A(citation["permalink"], href=citation["permalink"], id="permalink")]),
        html.P(f"Data version {citation['version']} (snapshots: {snaps})."),
        html.P(citation["text"], className="citation", id="citation-text"),
        html.P("Reload this view in a notebook (run from the repository, with its environment):"),
        html.Pre(html.Code(snippet), id="cite-snippet", className="snippet"),
    ])


def keep_url_in_step(store_id: str) -> None:
    """Register the callback that writes a page's query string (held in ``store_id``) to the
    address bar; see ``replaceQuery`` in assets/sync.js."""
    clientside_callback(ClientsideFunction("xborder", "replaceQuery"), Output(store_id, "id"), Input(store_id, "data"))


def data_guard(layout):
    """Wrap a page layout: when the data it needs is not built (or a snapshot is missing), show
    what to do instead of an error page."""
    @functools.wraps(layout)
    def wrapper(**query):
        try:
            return layout(**query)
        except (FileNotFoundError, LookupError) as exc:
            logging.getLogger(__name__).exception("page layout failed for lack of data")
            return html.Div([notices([
                f"This page needs data that is not available: {exc}",
                "Build it from the bundled snapshots with: python -m etl run --offline",
            ], "warning")])
    return wrapper
