"""Sources: every source and series, with definitions, caveats and the snapshot behind them."""

from __future__ import annotations

import dash
from dash import dcc, html

from dashboard import store

dash.register_page(__name__, path="/sources", name="Sources", title="Sources and definitions")

GENERAL_CAVEATS = [
    "CDC's provisional counts are 12-month-ending sums: each point is the total of the 12 months ending that "
    "month. They are not monthly counts and must not be added up; the calendar-year figure is the December value.",
    "SESNSP counts victims recorded in state prosecutors' case files (carpetas de investigación); INEGI counts "
    "death certificates. They measure different things and differ by 1,000–2,000 homicides a year nationally.",
    "CBP reports by federal fiscal year (October–September): October to December belong to the previous calendar "
    "year's fiscal year + 1. The current fiscal year is incomplete (FYTD) and revised each month.",
    "Provisional, predicted, projected and fiscal-year-to-date values are drawn dashed or dotted.",
]


def layout(**_ignored) -> html.Div:
    cat = store.catalog()
    series = store.series_meta()
    blocks = []
    for sid, meta in store.sources_meta().items():
        entry = cat["sources"].get(sid, {})
        attempt = cat["attempts"].get(sid, {})
        rows = [html.Tr([html.Td(html.Code(s["series_id"])), html.Td(s["title"]), html.Td(s["unit"]),
                         html.Td(s["frequency"].replace("_", " ")), html.Td(s["definition"]),
                         html.Td(s["caveats"] or "")])
                for s in series.values() if s["source_id"] == sid]
        blocks.append(html.Section([
            html.H3(meta["title"]),
            html.P([html.A(meta["publisher"], href=meta["landing_url"], target="_blank", rel="noopener"),
                    f" · {meta['license']} · updated {meta['cadence']}"]),
            html.P(["Data: ", html.A(meta["download_url"], href=meta["download_url"], target="_blank",
                                     rel="noopener")]),
            html.P(f"Built from snapshot {entry.get('snapshot', '—')} ({entry.get('rows', 0):,} rows, "
                   f"{entry.get('date_min', '?')} – {entry.get('date_max', '?')}), fetched "
                   f"{(entry.get('fetched_at') or '—')[:10]}, status {entry.get('status', 'not built')}."),
            html.P(f"Last refresh attempt {attempt.get('at', '—')}: {attempt.get('error')}", className="notice warning")
            if attempt.get("error") else None,
            dcc.Markdown(f"**Caveats.** {meta['caveats']}") if meta.get("caveats") else None,
            html.P(f"Cite as: {meta['citation']}", className="lede"),
            html.Details([html.Summary(f"{len(rows)} series"), html.Table(
                [html.Thead(html.Tr([html.Th(h) for h in ("id", "title", "unit", "frequency", "definition",
                                                          "caveats")])), html.Tbody(rows)],
                className="sources-table")]),
        ], className="panel", id=f"source-{sid}"))
    return html.Div([
        html.H2("Sources and definitions"),
        html.Ul([html.Li(c) for c in GENERAL_CAVEATS], className="lede"),
        *blocks,
    ])
